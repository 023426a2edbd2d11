import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run on the shared package's source, so a change there needs no build first.
const resolve = {
  alias: { '@foretell/shared': fileURLToPath(new URL('./packages/shared/src/index.ts', import.meta.url)) },
};

export default defineConfig({
  resolve,
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    // One redis-server for the whole run; it first checks that `dist` is the
    // recorded build of the sources, so the `npm start` tests (which run in the
    // repository) never install or rebuild what other files are running.
    globalSetup: ['test/support/global-setup.ts'],
    // Two cores: the end-to-end files start processes of their own.
    maxWorkers: 2,
    // Deadlines, not waits: a passing test never reaches them, and two loaded
    // cores can make the end-to-end files' process starts take many seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
