import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../../../test/support/build-check.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  /** Exit status; null if a signal ended it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI as an operator would, from the repository root: `node
 * apps/consumer/dist/cli.js …`, or `npm run -s foretell -- …`. Its
 * environment is PATH (and HOME, which npm reads) plus `env`, nothing of the
 * test's own. The test setup has checked that `dist` is the recorded build.
 */
export function foretell(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  via: 'node' | 'npm' = 'node',
): Promise<CliRun> {
  const [command, commandArgs] =
    via === 'node' ? [process.execPath, [CLI, ...args]] : ['npm', ['run', '-s', 'foretell', '--', ...args]];
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...(process.env.HOME && { HOME: process.env.HOME }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': by then both streams are read to their end.
    child.once('close', (code) => {
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}
