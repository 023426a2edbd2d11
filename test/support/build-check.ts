import { fileURLToPath } from 'node:url';
import { buildState, installState } from '../../scripts/lib/up-to-date.mjs';

/** The repository: what `npm start` and `npm test` run in. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Throws unless `root`'s dependencies and `dist` are the ones `npm start`
 * recorded (or `npm test`, or `npm run build`): the unit tests run the
 * sources while the processes run `dist`, so a stale build would test
 * yesterday's code, and an `npm start` under test would install or rebuild
 * the tree that every other test file is running.
 */
export function assertBuildRecorded(root: string): void {
  if (!installState(root).isUpToDate) {
    throw new Error(
      'dependencies are not the recorded install of the lockfile: run `npm test` (it installs and builds)',
    );
  }
  if (!buildState(root).isUpToDate) {
    throw new Error(
      'dist is not the recorded build of the sources: run `npm test` (it builds), or `npm run build` before vitest',
    );
  }
}
