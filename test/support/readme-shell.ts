// Runs a README example's shell lines with `sh`, where `curl` is the Node
// stand-in test/support/readme-curl.mjs (so the examples run where only Node
// is installed), and reads back every exchange it made.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedExchange } from './readme-examples.js';

const CURL_STAND_IN = fileURLToPath(new URL('./readme-curl.mjs', import.meta.url));

export interface ShellRun {
  /** Resolves once `sh` has exited, with what it printed. */
  readonly done: Promise<{ readonly code: number | string; readonly stdout: string; readonly stderr: string }>;
  /** The exchanges the commands made so far. */
  exchanges(): RecordedExchange[];
  /** Throws, with what it printed, if `sh` has exited (for waits that need it running). */
  assertRunning(): void;
  hasExited(): boolean;
  /** SIGKILLs `sh` and every curl it started, if still running. */
  kill(): void;
}

export interface CurlShell {
  run(commands: string, env: Readonly<Record<string, string>>): ShellRun;
  /** Removes the stand-in's folder. */
  dispose(): Promise<void>;
}

function quoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A folder holding `curl` (the stand-in) to put first on the PATH, and the exchange logs. */
export async function curlShell(): Promise<CurlShell> {
  const dir = await mkdtemp(join(tmpdir(), 'foretell-readme-'));
  const curl = join(dir, 'curl');
  writeFileSync(curl, `#!/bin/sh\nexec ${quoted(process.execPath)} ${quoted(CURL_STAND_IN)} "$@"\n`);
  chmodSync(curl, 0o755);
  let runs = 0;
  return {
    run(commands, env) {
      runs += 1;
      const log = join(dir, `exchanges-${runs}.jsonl`);
      // Its own process group: a kill reaches the curls it started too.
      const child = spawn('sh', ['-c', commands], {
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, README_CURL_LOG: log, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      let exited: number | string | undefined;
      const done = new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => {
          exited = code ?? signal ?? 'unknown';
          resolve({ code: exited, stdout, stderr });
        });
      });
      return {
        done,
        exchanges: () =>
          existsSync(log)
            ? readFileSync(log, 'utf8')
                .split('\n')
                .filter(Boolean)
                .map((line) => JSON.parse(line) as RecordedExchange)
            : [],
        assertRunning() {
          if (exited !== undefined) throw new Error(`sh exited (${exited}) early:\n${stdout}\n${stderr}`);
        },
        hasExited: () => exited !== undefined,
        kill() {
          if (exited !== undefined || child.pid === undefined) return;
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch (error) {
            // Gone between the check and the kill: nothing left to stop.
            if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
          }
        },
      };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
