import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ApiConfigSchema } from '../../apps/api/src/config.js';
import { ConsumerConfigSchema } from '../../apps/consumer/src/config.js';
import { supportedNode } from '../../scripts/lib/node-support.mjs';

// No Docker engine runs where the tests do, so these files are checked against the code instead of run.

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const readJson = (path: string) => JSON.parse(read(path)) as Record<string, unknown>;

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string> | string[];
  ports?: string[];
  container_name?: string;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  stop_grace_period?: string;
  volumes?: string[];
  profiles?: string[];
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes?: object };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

/** Compose takes the mapping form and the `KEY=value` list form. */
function environment(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((line) => [line.split('=')[0] ?? '', line.split('=').slice(1).join('=')]));
}

/** A compose duration ("40s", "1m30s", "500ms") in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.map((part) => part[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * (units[unit ?? ''] ?? NaN), 0);
}

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** A Dockerfile's stages, each a list of instructions (comments dropped, continuations joined). */
function dockerStages(path: string): Instruction[][] {
  const lines = read(path)
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

const argsOf = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);

/** What these checks read of a config schema (typebox itself is not a dependency of the root). */
interface ConfigSchema {
  readonly properties: Readonly<Record<string, unknown>>;
}

const apps: readonly { app: string; schema: ConfigSchema; entry: string }[] = [
  { app: 'api', schema: ApiConfigSchema, entry: 'server' },
  { app: 'consumer', schema: ConsumerConfigSchema, entry: 'main' },
];

const schemaDefault = (schema: ConfigSchema, name: string) =>
  (schema.properties[name] as { default?: unknown } | undefined)?.default;

/** The value the app runs with: the compose value when set and not empty, the schema default otherwise. */
function effective(svc: Service, schema: ConfigSchema, name: string): string {
  const value = environment(svc)[name];
  return value !== undefined && value !== '' ? value : String(schemaDefault(schema, name));
}

describe('docker-compose.yml', () => {
  it('runs redis, the api and the consumer, and nothing else', () => {
    const always = Object.entries(compose.services).filter(([, svc]) => svc.profiles === undefined);
    expect(always.map(([name]) => name).sort()).toEqual(['api', 'consumer', 'redis']);
  });

  it('adds a replica and a sentinel with the sentinel profile, and lets the apps use it', () => {
    // The observe profile's services are checked in observe-profile.test.ts.
    const profiled = Object.entries(compose.services).filter(([, svc]) => svc.profiles?.includes('sentinel'));
    expect(Object.fromEntries(profiled.map(([name, svc]) => [name, svc.profiles]))).toEqual({
      'redis-replica': ['sentinel'],
      'redis-sentinel': ['sentinel'],
    });
    // The replica can take over: the primary's settings, replicating it.
    const replica = service('redis-replica').command ?? [];
    expect(replica.join(' ')).toContain('--replicaof redis 6379');
    const primary = service('redis').command ?? [];
    const valueOf = (command: string[], flag: string) =>
      command.includes(flag) ? command[command.indexOf(flag) + 1] : undefined;
    for (const setting of ['--appendonly', '--maxmemory', '--maxmemory-policy', '--hash-max-listpack-value']) {
      expect(valueOf(replica, setting)).toBe(valueOf(primary, setting));
    }
    const sentinel = (service('redis-sentinel').command ?? []).join(' ');
    expect(sentinel).toContain("'sentinel monitor mymaster redis 6379 1'");
    expect(sentinel).toContain('--sentinel');
    // mymaster is what the apps ask for by default; REDIS_SENTINELS is passed through.
    expect((ApiConfigSchema.properties.REDIS_SENTINEL_NAME as { default?: unknown }).default).toBe('mymaster');
    for (const app of ['api', 'consumer']) {
      expect(environment(service(app)).REDIS_SENTINELS).toBe('${REDIS_SENTINELS:-}');
    }
  });

  it('runs redis with AOF on a named volume, noeviction, and a healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:(7|8)\b/);
    const command = redis.command ?? [];
    expect(command[0]).toBe('redis-server');
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(compose.volumes ?? {})).toEqual(['redis-data']);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  describe.each(apps)('$app', ({ app, schema }) => {
    const svc = service(app);

    it(`builds from Dockerfile.${app} at the workspace root`, () => {
      expect(svc.build).toEqual({ context: '.', dockerfile: `Dockerfile.${app}` });
    });

    it('mounts ./models (or MODELS_DIR) read-only at /app/models, and passes the model settings through', () => {
      expect(svc.volumes).toEqual(['${MODELS_DIR:-./models}:/app/models:ro']);
      for (const name of ['MODEL_MODULE', 'MODEL_WORKERS', 'MODEL_MAX_BATCH_SIZE', 'MODEL_MAX_BATCH_DELAY_MS']) {
        expect(environment(svc)[name], name).toBe(`\${${name}:-}`);
      }
      // The folder is there to mount, and never copied into an image.
      expect(existsSync(new URL('models/README.md', root))).toBe(true);
      expect(read('.dockerignore').split('\n')).toContain('models');
    });

    it('sets only variables its config schema knows, and reaches redis by its service name', () => {
      const known = Object.keys(schema.properties);
      for (const name of Object.keys(environment(svc))) expect(known, `${app}: ${name}`).toContain(name);
      expect(environment(svc).REDIS_URL).toBe('redis://redis:6379');
    });

    it('starts once redis is healthy', () => {
      expect(svc.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    });

    it('is given more time to stop than its SHUTDOWN_GRACE_MS plus 5 s', () => {
      const graceMs = Number(effective(svc, schema, 'SHUTDOWN_GRACE_MS'));
      expect(graceMs).toBe(30_000);
      expect(durationMs(svc.stop_grace_period ?? '0s')).toBeGreaterThan(graceMs + 5000);
    });
  });

  it('publishes the api on the port it listens on', () => {
    const port = effective(service('api'), ApiConfigSchema, 'PORT');
    expect(port).toBe('8080');
    expect(service('api').ports).toEqual([`${port}:${port}`]);
  });

  it('leaves the consumer scalable: no host port, no fixed container name', () => {
    expect(service('consumer').ports).toBeUndefined();
    expect(service('consumer').container_name).toBeUndefined();
  });

  describe('api healthcheck', () => {
    const test = service('api').healthcheck?.test ?? [];
    const port = effective(service('api'), ApiConfigSchema, 'PORT');

    it('runs node (the image has no curl) against /health on the listening port', () => {
      expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(test[3]).toContain(`'http://127.0.0.1:${port}/health'`);
    });

    // The script itself runs here against a stand-in server, so a quoting slip or an inverted exit code shows.
    it('exits 0 on a 200, 1 on a 503 and 1 when nothing listens', async () => {
      const run = promisify(execFile);
      const exitCode = (script: string) =>
        run(process.execPath, ['-e', script], { timeout: 10_000 }).then(
          () => 0,
          (error: { code?: unknown }) => error.code,
        );
      let status = 200;
      const server = createServer((request, response) => {
        response.statusCode = request.url === '/health' ? status : 404;
        response.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const script = (test[3] ?? '').replace(`:${port}/`, `:${address.port}/`);
      try {
        expect(await exitCode(script)).toBe(0);
        status = 503;
        expect(await exitCode(script)).toBe(1);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      expect(await exitCode(script)).toBe(1);
    });
  });
});

describe('.dockerignore', () => {
  it('keeps host installs and builds out of the build context', () => {
    const lines = read('.dockerignore').split('\n');
    expect(lines).toContain('**/node_modules');
    expect(lines).toContain('**/dist');
  });
});

describe.each(apps)('Dockerfile.$app', ({ app, entry }) => {
  const stages = dockerStages(`Dockerfile.${app}`);
  const runtime = stages.at(-1) ?? [];
  const pkg = readJson(`apps/${app}/package.json`) as { name: string; scripts: Record<string, string> };

  it('is multi-stage, every stage on a Node line that engines.node supports', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const majors = supportedNode(fileURLToPath(root)).lines.map((line) => line.major);
    for (const stage of stages) {
      const major = /^node:(\d+)-bookworm-slim\b/.exec(stage[0]?.args ?? '')?.[1];
      expect(majors).toContain(Number(major));
    }
  });

  it('installs from every workspace manifest and the frozen lockfile, then deploys the app', () => {
    const build = stages[0] ?? [];
    const copies = argsOf(build, 'COPY').join(' ');
    for (const manifest of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml'])
      expect(copies).toContain(manifest);
    // The root's workspace dependencies too: --frozen-lockfile refuses a workspace package it cannot find.
    const rootWorkspaceDeps = Object.entries(readJson('package.json').devDependencies as Record<string, string>)
      .filter(([, version]) => version.startsWith('workspace:'))
      .map(([name]) => `packages/${name.replace('@foretell/', '')}`);
    for (const dir of ['apps/api', 'apps/consumer', 'packages/shared', ...rootWorkspaceDeps]) {
      expect(existsSync(new URL(`${dir}/package.json`, root))).toBe(true);
      expect(copies).toContain(`${dir}/package.json ${dir}/`);
    }
    const runs = argsOf(build, 'RUN');
    expect(runs).toContain('npm install -g pnpm@10.34.8');
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs).toContain(`pnpm --filter ${pkg.name}... run build`);
    expect(runs).toContain(`pnpm --filter ${pkg.name} deploy --legacy --prod /out`);
    expect(argsOf(runtime, 'COPY')).toEqual(['--from=build /out ./']);
  });

  it(`runs node dist/${entry}.js as the non-root node user`, () => {
    expect(argsOf(runtime, 'USER')).toEqual(['node']);
    const cmd = JSON.parse(argsOf(runtime, 'CMD')[0] ?? '[]') as string[];
    expect(cmd).toEqual(['node', `dist/${entry}.js`]);
    // The same file that `npm start` runs, bundled from src/<entry>.ts into dist/ after tsc type-checks src/.
    expect(cmd.join(' ')).toBe(pkg.scripts.start);
    expect(existsSync(new URL(`apps/${app}/src/${entry}.ts`, root))).toBe(true);
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json && node scripts/bundle.mjs');
    const build = readJson(`apps/${app}/tsconfig.build.json`) as { compilerOptions: Record<string, unknown> };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', noEmit: true });
    expect(read(`apps/${app}/scripts/bundle.mjs`)).toContain(`'src/${entry}.ts'`);
  });

  it('exposes exactly the port compose publishes', () => {
    const expected = app === 'api' ? [effective(service('api'), ApiConfigSchema, 'PORT')] : [];
    expect(argsOf(runtime, 'EXPOSE')).toEqual(expected);
  });
});
