import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { ProcessFilesFirst } from './test/support/process-files-first.js';

// Tests run on the shared package's source, so a change there needs no build first.
const resolve = {
  alias: { '@foretell/shared': fileURLToPath(new URL('./packages/shared/src/index.ts', import.meta.url)) },
};

/** The bench's smoke run: one test, a minute of process starts and load, the longest file of all. */
const BENCH_SMOKE = ['bench/test/smoke.test.ts'];
/** Files that replace a module (vi.mock): each runs in a fresh worker, so the replacement stays theirs. */
const MOCKING = ['apps/api/test/api-keys-compare.test.ts'];

// One redis-server for each project's files (set per project: a root
// globalSetup would also run for the root, which runs no tests); it first
// checks that `dist` is the recorded build of the sources, so the `npm start`
// tests (which run in the repository) never install or rebuild what other
// files are running.
const globalSetup = ['test/support/global-setup.ts'];

export default defineConfig({
  resolve,
  test: {
    // Four files at once on two cores: the files that start processes or a
    // browser wait on them for much of their time (two workers kept the
    // cores 79% busy), so two more workers fill those waits. Full run here:
    // 252 and 255 s with two workers, 206 and 224 s with four.
    maxWorkers: 4,
    // Deadlines, not waits: a passing test never reaches them, and two loaded
    // cores can make the end-to-end files' process starts take many seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Vitest queues the projects' files in the order of their names: the
    // bench's smoke run first, then the file that mocks a module, then the
    // rest, the files that start processes or a browser first (they wait on
    // them the longest; ProcessFilesFirst), the short in-process ones
    // filling the gaps and the end.
    sequence: { sequencer: ProcessFilesFirst },
    // vitest keeps the files it transformed (TypeScript to JavaScript, by
    // content hash) in node_modules/.experimental-vitest-cache, so a second
    // run does not transform them again (with it, the in-process files took
    // 0.85 and 0.92 of the CPU in two runs each). A clean checkout starts
    // with none; `npx vitest --clearCache` empties it.
    experimental: { fsModuleCache: true },
    //
    // Files share their workers' modules (`isolate: false`) unless they mock
    // one: each file no longer imports vitest, Fastify, ioredis and the app
    // anew, which took a third of the run's CPU (and, for the files that
    // start processes, 50 of their 100 s of CPU). They build their own apps,
    // processes, connections and key prefixes, and close them; nothing in
    // them changes a module's state. The in-process files and those that
    // start processes are one project, so that they share workers too: as
    // two projects, each had workers of its own, which imported everything
    // again (vitest alone: 8% less CPU as one).
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
          exclude: [...MOCKING, ...BENCH_SMOKE],
          isolate: false,
          globalSetup,
        },
      },
      // First of all (`bench` sorts before the other names): started last, it would end the run alone.
      { extends: true, test: { name: 'bench', include: BENCH_SMOKE, globalSetup } },
      { extends: true, test: { name: 'mocking', include: MOCKING, globalSetup } },
    ],
  },
});
