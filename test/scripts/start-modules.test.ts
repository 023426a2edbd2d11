import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/build-check.js';

// What the processes load as they start, which the end-to-end tests pay for
// a hundred times a run and every deployment once per process. Checked on
// the build, where the processes run, each in a fresh Node process.

const FIXTURE = join(ROOT, 'test/fixtures/modules-loaded.mjs');
const APP_FIXTURE = join(ROOT, 'test/fixtures/app-cjs-modules.mjs');

async function modulesLoadedBy(file: string, needle: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE, file, needle], { cwd: ROOT });
  return JSON.parse(stdout) as string[];
}

const typeboxModulesLoadedBy = (file: string) => modulesLoadedBy(file, '/typebox/');

// Every process loads TypeBox's runtime from the shared package's bundle
// (packages/shared/src/typebox.ts): its ~700 modules, loaded one by one, were
// a third of an API's start. A resolve hook lists what a module loads from
// TypeBox's own package.
describe("TypeBox's runtime, bundled once", () => {
  it('is what the lister sees when a module imports TypeBox itself', async () => {
    // The control: without the bundle, the hook reports TypeBox's own modules.
    const typebox = realpathSync(join(ROOT, 'packages/shared/node_modules/typebox'));
    expect((await typeboxModulesLoadedBy(join(typebox, 'build/compile/index.mjs'))).length).toBeGreaterThan(100);
  });

  // What the apps' entry points import (server.js and main.js would start an app when imported).
  it.each([
    'apps/api/dist/app.js',
    'apps/api/dist/config.js',
    'apps/consumer/dist/config.js',
    'apps/consumer/dist/stream-consumer.js',
    'apps/consumer/dist/webhooks/webhook-config.js',
    'apps/consumer/dist/cli/cli-session.js',
  ])('%s loads none of its modules from the typebox package', async (entry) => {
    expect(await typeboxModulesLoadedBy(join(ROOT, entry))).toEqual([]);
  });

  it('exports a working builder, compiler and value checker', async () => {
    const bundle = (await import(join(ROOT, 'packages/shared/dist/typebox.js'))) as typeof import('@foretell/shared');
    const schema = bundle.Type.Object({ input: bundle.Type.String() });
    expect(bundle.Compile(schema).Check({ input: 'a' })).toBe(true);
    expect(bundle.Value.Check(schema, { input: 1 })).toBe(false);
  });
});

describe('the model pool', () => {
  it('is loaded, piscina with it, only when the model runs in worker threads', async () => {
    // The control: the pool's own module does load piscina.
    expect(await modulesLoadedBy(join(ROOT, 'packages/shared/dist/model-pool.js'), '/piscina/')).not.toEqual([]);
    expect(await modulesLoadedBy(join(ROOT, 'packages/shared/dist/index.js'), '/piscina/')).toEqual([]);
  });
});

describe('the API app', () => {
  it("loads neither Ajv's validator compiler, which it never uses, nor (without API keys) the rate limiter", async () => {
    const loaded = async (needle: string) => {
      const { stdout } = await promisify(execFile)(process.execPath, [APP_FIXTURE, needle], { cwd: ROOT });
      return JSON.parse(stdout) as string[];
    };
    // The control: the app did load Fastify's own CommonJS modules, which the fixture lists.
    expect((await loaded('/fastify/lib/')).length).toBeGreaterThan(10);
    expect(await loaded('@fastify/ajv-compiler')).toEqual([]);
    // Nor, without API keys, the rate limiter's library.
    expect(await loaded('rate-limiter-flexible')).toEqual([]);
  });
});
