import { execFile } from 'node:child_process';
import { cp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { disposeNpmStarts, ROOT, startedNpmStart, waitUntilAllGone, type NpmStart } from '../support/npm-start.js';

// npm start installs and builds only when something changed, known from the
// contents of what it read (not modification times): a second start with
// nothing changed skips both; a changed source is built (its package alone)
// and runs. It runs on
// a copy of the repository, whose sources the test may change.

const copies: string[] = [];
afterEach(async () => {
  await disposeNpmStarts();
  for (const copy of copies.splice(0)) await rm(copy, { recursive: true, force: true });
});

/**
 * The repository, its installed dependencies and its recorded build included,
 * in a new temporary folder. node_modules (13 000 files) is hard-linked, not
 * copied: npm start only reads it there, and writes its records by renaming
 * new files into place (up-to-date.mjs), which leaves the repository's own
 * untouched. The rest is copied, `dist` included: tsc rewrites its files in
 * place, which through a link would change the repository's build.
 */
async function copyOfRepository(): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), 'foretell-start-copy-'));
  copies.push(copy);
  const skipped = new Set(['.git', '.data', 'coverage', 'node_modules'].map((name) => join(ROOT, name)));
  await cp(ROOT, copy, { recursive: true, verbatimSymlinks: true, filter: (source) => !skipped.has(source) });
  await promisify(execFile)('cp', ['-a', '--link', join(ROOT, 'node_modules'), join(copy, 'node_modules')]);
  return copy;
}

async function startAndStop(cwd: string): Promise<string> {
  const run: NpmStart = await startedNpmStart({ cwd });
  // "API on" says the API listens; the consumer may still be starting.
  await run.waitForOutput('consumer started');
  run.pressCtrlC();
  expect(await run.exited).toBe(0);
  await waitUntilAllGone(run);
  return run.output();
}

describe('npm start with nothing changed', () => {
  it(
    'skips install and build; a changed source, even with its old time, is built and runs',
    { timeout: 900_000 },
    async () => {
      // The test setup checked that the repository's install and build are
      // recorded (build-check.ts); the copy carries those records.
      const copy = await copyOfRepository();
      const warm = await startAndStop(copy);
      expect(warm).toContain('▸ dependencies up to date');
      expect(warm).toContain('▸ build up to date');
      expect(warm).not.toContain('▸ installing');
      expect(warm).not.toContain('▸ building');

      const source = join(copy, 'apps/consumer/src/stream-consumer.ts');
      const { atime, mtime } = await stat(source);
      const text = await readFile(source, 'utf8');
      const edited = text.replace("'consumer started'", "'consumer started (edited copy)'");
      expect(edited).not.toBe(text);
      await writeFile(source, edited);
      await utimes(source, atime, mtime);

      const rebuilt = await startAndStop(copy);
      expect(rebuilt).toContain('▸ dependencies up to date');
      // Only the app that changed: the shared package and the API are still their recorded builds.
      expect(rebuilt).toContain('▸ building apps/consumer\n');
      expect(rebuilt).toContain('consumer started (edited copy)');
    },
  );
});
