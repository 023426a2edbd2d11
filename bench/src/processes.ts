import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './settings.js';

// One port finder for the whole project, beside the Redis launcher that needs it.
export { freePort } from '../../scripts/lib/local-redis.mjs';

/** The built entry points the bench starts, relative to the repository's root. */
export const ENTRIES = {
  api: 'apps/api/dist/server.js',
  consumer: 'apps/consumer/dist/main.js',
  'bare-route': 'bench/dist/baselines/bare-route-server.js',
  'raw-consumer': 'bench/dist/baselines/raw-consumer-loop.js',
} as const;

export type EntryName = keyof typeof ENTRIES;

export function missingEntries(): string[] {
  return Object.values(ENTRIES).filter((entry) => !existsSync(`${ROOT}${entry}`));
}

/** Resident set size of a process, from /proc/<pid>/status (Linux); NaN when unreadable. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib === undefined ? Number.NaN : Number(kib) * 1024;
  } catch {
    return Number.NaN;
  }
}

// Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux builds we run on).
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (Linux); NaN when unreadable. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS until stopped; `peak()` is the largest seen. */
export function sampleRss(pid: number | undefined, everyMs = 50): { peak(): number; stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    const now = rssBytes(pid);
    if (!(now <= peak)) peak = now;
  }, everyMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      const now = rssBytes(pid);
      if (!(now <= peak)) peak = now;
      return peak;
    },
  };
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running: the runner's last resort on a signal or a crash. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface BenchProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves with the exit code, or the signal's name, once the process is gone and its output read. */
  readonly exited: Promise<number | string>;
  rss(): number;
  /** The last lines it printed, for error messages. */
  tail(): string;
  isRunning(): boolean;
  /** Throws if the process has exited. */
  assertAlive(): void;
  /** Sends `signal` if it is still running, without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM (the apps drain; a CPU profile is written on exit), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnSettings {
  readonly env: Record<string, string>;
  /** In errors and `name`; default: the entry's name. */
  readonly name?: string;
  /** Its own process group: Ctrl-C in a terminal reaches only the runner, which stops it in its turn. */
  readonly detached?: boolean;
  /** Each line it prints, on stdout or stderr. */
  readonly onLine?: (line: string) => void;
  /** Written with --cpu-prof when set: `<dir>/<name>`. */
  readonly cpuProfile?: { readonly dir: string; readonly name: string };
}

const TAIL_LINES = 30;

/** Starts `node <entry>` from the repository's root with only `env` (and PATH). */
export function startProcess(
  entryName: EntryName,
  { env, name = entryName, detached = false, onLine, cpuProfile }: SpawnSettings,
): BenchProcess {
  const entry = ENTRIES[entryName];
  const nodeArgs = cpuProfile
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfile.dir, '--cpu-prof-name', cpuProfile.name]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      onLine?.(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code ?? 'unknown');
    });
  });
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const tail = () => lines.join('\n');
  return {
    name,
    pid: child.pid,
    exited,
    rss: () => rssBytes(child.pid),
    tail,
    isRunning,
    assertAlive() {
      if (!isRunning()) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}); its last output:\n${tail()}`);
      }
    },
    kill(signal) {
      if (isRunning()) child.kill(signal);
    },
    async stop(graceMs = 15_000) {
      if (!isRunning()) return;
      child.kill('SIGTERM');
      const inTime = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Waits until `url` answers `status`; fails at once if the process dies meanwhile. */
export async function waitForHttp(
  child: BenchProcess,
  url: string,
  init: RequestInit = {},
  status = 200,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: string;
  for (;;) {
    child.assertAlive();
    try {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.status === status) return;
      last = `status ${response.status}`;
    } catch (error) {
      // Not listening yet.
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`${child.name} did not answer ${url} (${last}):\n${child.tail()}`);
    await sleep(50);
  }
}
