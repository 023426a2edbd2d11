import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildState, installState } from '../../scripts/lib/up-to-date.mjs';
import { assertBuildRecorded } from '../support/build-check.js';

// The test setup refuses to run on a tree whose dist or dependencies are not
// the recorded ones. Checked on a small tree shaped like the repository: the
// files the records hash, and nothing else.

const trees: string[] = [];
afterEach(async () => {
  for (const tree of trees.splice(0)) await rm(tree, { recursive: true, force: true });
});

const LOCKFILE = 'lockfileVersion: 9.0\n';

async function put(root: string, file: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, file)), { recursive: true });
  await writeFile(join(root, file), text);
}

/** A tree with its install and build recorded, as `npm test` leaves it. */
async function recordedTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'foretell-build-check-'));
  trees.push(root);
  await put(root, 'package.json', '{"name":"tree"}');
  await put(root, 'pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - apps/*\n');
  await put(root, 'pnpm-lock.yaml', LOCKFILE);
  await put(root, 'node_modules/.pnpm/lock.yaml', LOCKFILE);
  await put(root, 'node_modules/typescript/package.json', '{"version":"6.0.3"}');
  await put(root, 'tsconfig.base.json', '{}');
  for (const pkg of ['packages/shared', 'apps/api', 'apps/consumer']) {
    // The apps depend on the shared package, as the real ones do.
    const dependencies = pkg === 'packages/shared' ? {} : { 'packages/shared': 'workspace:*' };
    await put(root, `${pkg}/package.json`, JSON.stringify({ name: pkg, dependencies }));
    await put(root, `${pkg}/tsconfig.build.json`, '{}');
    await put(root, `${pkg}/src/index.ts`, 'export const answer = 42;\n');
    await put(root, `${pkg}/dist/index.js`, 'export const answer = 42;\n');
  }
  installState(root).record();
  buildState(root).record();
  return root;
}

describe('the test setup (build-check.ts)', () => {
  it('accepts a tree whose install and build are the recorded ones', async () => {
    const root = await recordedTree();
    expect(() => assertBuildRecorded(root)).not.toThrow();
  });

  it('refuses a source changed since the build, naming the way out', async () => {
    const root = await recordedTree();
    await put(root, 'apps/api/src/index.ts', 'export const answer = 43;\n');
    expect(() => assertBuildRecorded(root)).toThrow(
      'dist is not the recorded build of the sources: run `npm test` (it builds), or `npm run build` before vitest',
    );
  });

  it('refuses a dist changed or removed after the build', async () => {
    const root = await recordedTree();
    await rm(join(root, 'packages/shared/dist/index.js'));
    expect(() => assertBuildRecorded(root)).toThrow(/dist is not the recorded build/);
  });

  it('refuses dependencies that are not the installed lockfile', async () => {
    const root = await recordedTree();
    await put(root, 'pnpm-lock.yaml', `${LOCKFILE}# a dependency added\n`);
    expect(() => assertBuildRecorded(root)).toThrow(
      'dependencies are not the recorded install of the lockfile: run `npm test` (it installs and builds)',
    );
  });
});

describe("the build of npm start and npm test (up-to-date.mjs, run.mjs's buildWhatChanged)", () => {
  it('builds nothing when nothing changed', async () => {
    const root = await recordedTree();
    expect(buildState(root)).toMatchObject({ isUpToDate: true, stale: [] });
  });

  it('builds only the app whose source changed', async () => {
    const root = await recordedTree();
    await put(root, 'apps/consumer/src/index.ts', 'export const answer = 43;\n');
    expect(buildState(root)).toMatchObject({ isUpToDate: false, stale: ['apps/consumer'] });
  });

  it('builds what depends on a changed package too, in build order', async () => {
    const root = await recordedTree();
    await put(root, 'packages/shared/src/index.ts', 'export const answer = 43;\n');
    expect(buildState(root).stale).toEqual(['packages/shared', 'apps/api', 'apps/consumer']);
  });

  it('builds every package when an input they all read changed', async () => {
    const root = await recordedTree();
    await put(root, 'tsconfig.base.json', '{"compilerOptions":{}}');
    expect(buildState(root).stale).toEqual(['packages/shared', 'apps/api', 'apps/consumer']);
  });

  it('rebuilds a package whose dist was changed, and records each build apart', async () => {
    const root = await recordedTree();
    await put(root, 'apps/api/dist/index.js', 'export const answer = 0;\n');
    const state = buildState(root);
    expect(state.stale).toEqual(['apps/api']);
    await put(root, 'apps/api/dist/index.js', 'export const answer = 42;\n');
    state.record();
    expect(buildState(root)).toMatchObject({ isUpToDate: true, stale: [] });
  });
});
