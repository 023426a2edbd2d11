// `npm start`: the whole service from a clean clone. Installs dependencies,
// builds, starts a local redis-server (data in .data/redis, AOF on) unless
// REDIS_URL is set, then the API (port 8080) and one consumer, with their logs
// prefixed and pretty-printed. Ctrl-C (or SIGTERM) drains the apps, then stops
// Redis. Every variable of the README's configuration table is passed through.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureSystemCommand, installDependencies, log, pnpm, REDIS_SERVER, runMain } from './lib/run.mjs';
import { DEFAULT_LOCAL_MAXMEMORY, startLocalRedis } from './lib/local-redis.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const COLORS = { redis: 31, api: 36, consumer: 35 };

runMain(async () => {
  await installDependencies();
  log('building');
  await pnpm(['run', 'build']);
  // pino-pretty is a dev dependency: import it only once it is installed.
  const { prettyFactory } = await import('pino-pretty');
  const pretty = prettyFactory({
    colorize: process.stdout.isTTY,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });

  const children = new Map();
  const prefixLines = (name, child, format = (line) => line) => {
    const label = name.padEnd(8);
    const tag = `${process.stdout.isTTY ? `\u001b[${COLORS[name]}m${label}\u001b[0m` : label}│ `;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(tag + format(line).trimEnd() + '\n');
      });
    }
  };
  const prettyLine = (line) => {
    if (!line.startsWith('{')) return line;
    try {
      return pretty(line);
    } catch {
      return line;
    }
  };

  const env = { ...process.env };
  if (!env.REDIS_URL) {
    const redisServer = await ensureSystemCommand(REDIS_SERVER);
    const port = Number(env.LOCAL_REDIS_PORT || 6379);
    const dir = env.LOCAL_REDIS_DIR || `${root}.data/redis`;
    const maxMemory = env.LOCAL_REDIS_MAXMEMORY || DEFAULT_LOCAL_MAXMEMORY;
    log(`starting redis-server on 127.0.0.1:${port} (data in ${dir}, AOF on, maxmemory ${maxMemory})`);
    const redis = await startLocalRedis({
      redisServer,
      port,
      dir,
      maxMemory,
      onLine: (child) => prefixLines('redis', child),
    });
    children.set('redis', redis);
    env.REDIS_URL = `redis://127.0.0.1:${port}`;
  } else {
    log(`using REDIS_URL=${env.REDIS_URL}`);
  }

  let stopping = false;
  const stop = async (exitCode) => {
    if (stopping) {
      log('second signal: killing everything now');
      for (const child of children.values()) child.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    log('stopping: draining the API and the consumer, then Redis');
    const exited = (child) => (child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));
    const apps = ['api', 'consumer'].map((name) => children.get(name)).filter(Boolean);
    for (const child of apps) child.kill('SIGTERM');
    await Promise.all(apps.map(exited));
    const redis = children.get('redis');
    if (redis) {
      redis.kill('SIGTERM');
      await exited(redis);
    }
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (const [name, entry] of [
    ['api', 'apps/api/dist/server.js'],
    ['consumer', 'apps/consumer/dist/main.js'],
  ]) {
    // Own process group: Ctrl-C reaches only this runner, which sends one SIGTERM
    // (a second signal would force the apps to exit without draining).
    const child = spawn(process.execPath, [entry], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    prefixLines(name, child, prettyLine);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log(`${name} exited (${signal ?? code}); stopping everything`);
      void stop(code || 1);
    });
  }
  log(`API on http://127.0.0.1:${env.PORT || 8080} — Swagger UI at /docs. Ctrl-C stops.`);
});
