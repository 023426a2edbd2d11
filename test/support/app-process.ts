import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const ENTRIES = {
  api: 'apps/api/dist/server.js',
  consumer: 'apps/consumer/dist/main.js',
} as const;

export interface AppProcess {
  readonly child: ChildProcess;
  /** Every line the process printed so far (stdout and stderr). */
  readonly lines: string[];
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Sends SIGKILL if it is still running; resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts a built app (`node apps/<app>/dist/...`) as the operator would, with
 * only the given environment on top of PATH. The test command builds first.
 */
export function startApp(app: keyof typeof ENTRIES, env: Record<string, string>): AppProcess {
  const entry = ENTRIES[app];
  if (!existsSync(`${ROOT}${entry}`)) throw new Error(`${entry} is missing: run the build first (npm test does)`);
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    child,
    lines,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until the process has printed a log line whose `msg` is `message`. */
export function waitForLog(app: AppProcess, message: string, timeoutMs = 10_000): Promise<string> {
  return waitFor(() => app.lines.find((line) => line.includes(`"msg":"${message}"`)), {
    timeoutMs,
    what: `log "${message}"`,
  });
}
