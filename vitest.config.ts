import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Tests run on the shared package's source, so a change there needs no build first.
const resolve = {
  alias: { '@foretell/shared': fileURLToPath(new URL('./packages/shared/src/index.ts', import.meta.url)) },
};
// Deadlines, not waits: a passing test never reaches them, and two loaded
// cores can make the end-to-end files' process starts take many seconds.
const timeouts = { testTimeout: 120_000, hookTimeout: 120_000 };

// `npm start` may install and rebuild the `dist` that the end-to-end files
// run: its tests run alone, once every other file is done.
const NPM_START_TESTS = 'test/e2e/start-*.test.ts';

export default defineConfig({
  resolve,
  test: {
    // One redis-server for the whole run, whichever projects run.
    globalSetup: ['test/support/global-setup.ts'],
    // Two cores: the end-to-end files start processes of their own.
    maxWorkers: 2,
    projects: [
      {
        resolve,
        test: {
          name: 'tests',
          include: [
            'packages/*/test/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'test/**/*.test.ts',
            'bench/test/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, NPM_START_TESTS],
          ...timeouts,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        test: {
          name: 'npm start',
          include: [NPM_START_TESTS],
          ...timeouts,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
