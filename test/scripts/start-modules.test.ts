import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/build-check.js';

// What the shared package's build loads, in a fresh Node process: a model
// module that imports @foretell/shared, and each thread of MODEL_WORKERS,
// load it. The apps' own builds are bundles: test/scripts/app-bundles.test.ts.

const FIXTURE = join(ROOT, 'test/fixtures/modules-loaded.mjs');

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

  // The apps bundle it with the rest of their dependencies: test/scripts/app-bundles.test.ts.
  it('is not loaded from the typebox package by the shared package', async () => {
    expect(await typeboxModulesLoadedBy(join(ROOT, 'packages/shared/dist/index.js'))).toEqual([]);
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
