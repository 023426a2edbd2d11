// One `npm start` per Redis data folder: a second one would SHUTDOWN the
// first one's Redis as stale, or run a second Redis on the same AOF files.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeRenamed } from './write-renamed.mjs';

const LOCK_FILE = 'npm-start.pid';

/** Whether `pid` is a live `npm start` runner (on Linux its command line says so: a pid may be reused). */
function isRunnerAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('start.mjs');
  } catch {
    return true; // no /proc (macOS): a live pid is all there is to go on
  }
}

/**
 * Records this process as the runner using `dir`, or throws (exitCode 1)
 * naming LOCAL_REDIS_DIR if another live runner holds it. Returns the
 * release, which removes the record.
 */
export function acquireRunLock(dir) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  let holder;
  try {
    holder = Number(readFileSync(path, 'utf8').trim());
  } catch {
    holder = undefined; // no earlier runner, or it cleaned up
  }
  if (holder !== undefined && holder !== process.pid && Number.isInteger(holder) && isRunnerAlive(holder)) {
    throw Object.assign(
      new Error(
        `LOCAL_REDIS_DIR: another npm start (pid ${holder}) is running on ${dir}; stop it, or give this one its own LOCAL_REDIS_DIR and LOCAL_REDIS_PORT.`,
      ),
      { exitCode: 1 },
    );
  }
  writeRenamed(path, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(path, 'utf8').trim()) === process.pid) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}
