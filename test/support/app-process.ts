import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './build-check.js';
import { waitFor } from './wait-for.js';

export const ENTRIES = {
  api: 'apps/api/dist/server.js',
  consumer: 'apps/consumer/dist/main.js',
} as const;

export interface AppProcess {
  readonly child: ChildProcess;
  /** Every line the process printed so far (stdout and stderr). */
  readonly lines: string[];
  /** The lines it printed on stdout alone. */
  readonly stdout: string[];
  /** Resolves with the exit code (or signal name) once the process is gone and its output read. */
  readonly exited: Promise<number | string>;
  /** Sends SIGKILL if it is still running; resolves once it is gone. */
  kill(): Promise<void>;
  /**
   * Throws, with the exit code and everything the process printed, if it is
   * gone: pass it as `unless` to every wait on the process, so that one that
   * died at start fails the wait at once instead of at its deadline.
   */
  readonly assertRunning: () => void;
}

/**
 * Starts a built app (`node apps/<app>/dist/...`) as the operator would, with
 * only the given environment on top of PATH. The test setup has checked
 * that `dist` is the recorded build of the sources (build-check.ts).
 */
export function startApp(app: keyof typeof ENTRIES, env: Record<string, string>): AppProcess {
  const entry = ENTRIES[app];
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    // A consumer's metrics port is any free one unless the test names it: consumers run side by side.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...(app === 'consumer' && { METRICS_PORT: '0' }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stdout: string[] = [];
  const collect = (stream: NodeJS.ReadableStream, into: string[][]) => {
    let buffered = '';
    const push = (line: string) => into.forEach((list) => list.push(line));
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      parts.forEach(push);
    });
    // A last line without its newline still counts.
    stream.once('end', () => {
      if (buffered !== '') push(buffered);
    });
  };
  collect(child.stdout, [lines, stdout]);
  collect(child.stderr, [lines]);
  let gone: number | string | undefined;
  // 'close', not 'exit': by then every line the process printed is in `lines`.
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => {
      gone = code ?? signal ?? 'unknown';
      resolve(gone);
    });
  });
  return {
    child,
    lines,
    stdout,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    assertRunning: () => {
      if (gone === undefined) return;
      throw new Error(`the ${app} process exited (${gone}); it printed:\n${lines.join('\n')}`);
    },
  };
}

/**
 * How long a process may take to start (to log "consumer started", to answer
 * /ready). A deadline, not a wait: it only matters when something is broken,
 * and a process that dies fails the wait at once. Generous because two
 * loaded cores can make a Node start take many seconds.
 */
export const STARTUP_TIMEOUT_MS = 60_000;

/** Waits until the process has printed a log line whose `msg` is `message`; fails at once if it exits without. */
export function waitForLog(app: AppProcess, message: string, timeoutMs = STARTUP_TIMEOUT_MS): Promise<string> {
  const find = () => app.lines.find((line) => line.includes(`"msg":"${message}"`));
  return waitFor(find, {
    timeoutMs,
    what: `log "${message}"`,
    unless: () => {
      if (find() === undefined) app.assertRunning();
    },
  });
}

/**
 * Waits until the API at `base` answers `path` with 200: `/health` once it
 * listens, `/ready` once Redis and the consumer group are there too.
 * `unless` fails the wait at once (pass the processes' assertRunning).
 */
export async function waitForApi(base: string, path: '/health' | '/ready', unless: () => void): Promise<void> {
  const status = async () => {
    const response = await fetch(`${base}${path}`).catch(() => undefined);
    await response?.body?.cancel();
    return response?.status;
  };
  await waitFor(async () => (await status()) === 200, {
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 50,
    what: `${base}${path} to answer 200`,
    unless,
  });
}
