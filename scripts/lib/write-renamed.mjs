// One way to write the files that npm start, npm test and the check keep in
// node_modules/.cache and the Redis data folder. Plain Node: runs before install.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `text` to `path` by renaming a new file into place: a reader never
 * sees half of it, and a copy of node_modules made with hard links (the
 * start-rebuild test's) keeps the original's file.
 */
export function writeRenamed(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
