// `npm run build`: builds every package (the bench's too), then records the
// build of what `npm start` runs, and of the bench, as `npm start` does after
// its own: the test setup refuses a `dist` that is not the recorded build of
// the sources (the end-to-end tests would run old code), and a recorded
// build lets `npm start` skip its own.
import { fileURLToPath } from 'node:url';
import { pnpm, runMain } from './lib/run.mjs';
import { benchBuildState, buildState } from './lib/up-to-date.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

runMain(async () => {
  // Read before building: a source edited during the build leaves the record stale.
  const states = [buildState(ROOT), benchBuildState(ROOT)];
  await pnpm(['-r', '--filter', './packages/**', '--filter', './apps/**', '--filter', './bench', 'run', 'build']);
  for (const state of states) state.record();
});
