import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run on the shared package's source, so a change there needs no build first.
const resolve = {
  alias: { '@foretell/shared': fileURLToPath(new URL('./packages/shared/src/index.ts', import.meta.url)) },
};

/** Files that start processes, or replace a module (vi.mock): each runs in a fresh worker. */
const ISOLATED = ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts', 'apps/api/test/api-keys-compare.test.ts'];

// One redis-server for each project's files (set per project: a root
// globalSetup would also run for the root, which runs no tests); it first
// checks that `dist` is the recorded build of the sources, so the `npm start`
// tests (which run in the repository) never install or rebuild what other
// files are running.
const globalSetup = ['test/support/global-setup.ts'];

export default defineConfig({
  resolve,
  test: {
    // Two cores: the end-to-end files start processes of their own.
    maxWorkers: 2,
    // Deadlines, not waits: a passing test never reaches them, and two loaded
    // cores can make the end-to-end files' process starts take many seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Vitest queues the projects' files in the order of their names: the
    // isolated files, which wait on processes the longest, go first, and the
    // short in-process ones fill the gaps and the end.
    //
    // The other files share their workers' modules (`isolate: false`): each
    // file no longer imports Fastify, ioredis and the app anew, which took a
    // third of the run's CPU. They build their own apps, connections and key
    // prefixes, and close them; nothing in them changes a module's state.
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: [
            'packages/*/test/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'test/**/*.test.ts',
            'bench/test/**/*.test.ts',
          ],
          exclude: ISOLATED,
          isolate: false,
          globalSetup,
        },
      },
      { extends: true, test: { name: 'isolated', include: ISOLATED, globalSetup } },
    ],
  },
});
