// `npm start` as a user runs it, for the tests of the runner itself
// (test/e2e/start-*.test.ts): its own process group as in a terminal, every
// process it starts tagged through the environment so that the test finds
// them all (they leave its process group, and may outlive it) and kills what
// is left by PID, never by name.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { ROOT } from './build-check.js';
import { fetchClient, type PredictClient } from './predict-client.js';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

export { ROOT };

/** Set in the environment of `npm start`, which every process it starts inherits. */
const TAG = 'FORETELL_NPM_START_TEST';
/** Installing and building take minutes on a busy machine; a warm start takes seconds. */
export const START_TIMEOUT_MS = 280_000;
/** The line `npm start` prints once the API listens. */
export const API_ON = '▸ API on http://';

export interface TaggedProcess {
  readonly pid: number;
  readonly command: string;
}

/**
 * The processes whose environment carries `tag`, and the redis-server on
 * `redisPort` working in `dataDir` (redis-server writes its title over its
 * environment, so the tag is not there; its title names its port, and it
 * works in its data folder, the run's own), with their command lines.
 */
function processesOf(tag: string, redisPort: number, dataDir: string): TaggedProcess[] {
  const marker = `${TAG}=${tag}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0').join(' ');
        const isOurs = /redis-server /.test(command)
          ? command.endsWith(`:${redisPort}`) && readlinkSync(`/proc/${pid}/cwd`) === dataDir
          : readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
        return isOurs ? [{ pid: Number(pid), command }] : [];
      } catch {
        return []; // gone meanwhile, or not ours to read
      }
    });
}

/**
 * Whether `pid` still runs: a process that has exited but that no one has
 * reaped yet (a zombie, state Z) does not. An orphan's reaper is PID 1, which
 * in some containers never reaps, so its /proc entry can outlive it.
 */
export function isRunning(pid: number): boolean {
  try {
    // The state follows the command name in parentheses, which may itself hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** What fd `fd` of `pid` is (`socket:[…]`), or undefined once closed or the process is gone. */
export function openFile(pid: number, fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

export interface NpmStartOptions {
  /** The tree to run it in; default the repository. */
  readonly cwd?: string;
  /** On top of PATH, HOME, PORT, LOCAL_REDIS_PORT, LOCAL_REDIS_DIR and the gated model's. */
  readonly env?: Readonly<Record<string, string>>;
  readonly port?: number;
  readonly redisPort?: number;
  /** Default: a new temporary folder, removed by the cleanup. */
  readonly dataDir?: string;
}

export interface NpmStart {
  readonly port: number;
  readonly base: string;
  readonly client: PredictClient;
  readonly redisPort: number;
  readonly dataDir: string;
  /** A connection to its local Redis (connect it once it is up), and the gated model on it. */
  readonly redis: Redis;
  readonly gate: ModelGate;
  readonly npmPid: number;
  /** npm's exit code, or the signal that ended it, once its output is read. */
  readonly exited: Promise<number | string>;
  output(): string;
  /** Throws, with the output so far, if `npm start` has ended. */
  readonly assertRunning: () => void;
  /** Waits until the output shows `text`; fails at once if npm ends first. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Every process it started that is still alive (npm, the runner, Redis and its keeper, the apps). */
  alive(): TaggedProcess[];
  /** The live process whose command line contains `part` (e.g. `scripts/start.mjs`). */
  process(part: string): TaggedProcess;
  /** Ctrl-C in its terminal: SIGINT to its whole process group. */
  pressCtrlC(): void;
}

const cleanups: (() => Promise<void>)[] = [];

/** Kills whatever the runs of the test left, by PID, and removes their folders: for `afterEach`. */
export async function disposeNpmStarts(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await cleanup();
}

/** Starts `npm start` and returns at once; the cleanup is registered for disposeNpmStarts. */
export async function spawnNpmStart(options: NpmStartOptions = {}): Promise<NpmStart> {
  const port = options.port ?? (await freePort());
  const redisPort = options.redisPort ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'foretell-start-')));
  const realDataDir = realpathSync(dataDir);
  const tag = randomUUID();
  const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const gate = modelGate(redis, `e2e-npm-start-${tag}`);
  // One pipe for both streams (`2>&1`, then sh becomes npm): the output reads in the order it
  // was written, as in a terminal. On two pipes a loaded machine could deliver the runner's
  // first stderr line before npm's own header on stdout.
  const npm = spawn('sh', ['-c', 'exec npm start 2>&1'], {
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      [TAG]: tag,
      PORT: String(port),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: dataDir,
      // The consumer's metrics port: any free one, as several npm starts run at once.
      METRICS_PORT: '0',
      ...gate.env,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let ended: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    npm.once('close', (code, signal) => resolve((ended = code ?? signal ?? 'unknown'))),
  );
  const assertRunning = () => {
    if (ended !== undefined) throw new Error(`npm start ended (${ended}); its output:\n${output}`);
  };
  cleanups.push(async () => {
    for (const { pid } of processesOf(tag, redisPort, realDataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitFor(() => processesOf(tag, redisPort, realDataDir).length === 0, {
      what: 'every process of npm start gone',
    });
    redis.disconnect();
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    base,
    client: fetchClient(base),
    redisPort,
    dataDir,
    redis,
    gate,
    npmPid: npm.pid ?? 0,
    exited,
    output: () => output,
    assertRunning,
    waitForOutput: async (text, timeoutMs = 15_000) => {
      await waitFor(() => output.includes(text), {
        timeoutMs,
        what: `"${text}" in the output of npm start`,
        unless: () => {
          if (!output.includes(text)) assertRunning();
        },
      }).catch((error: unknown) => {
        // A timeout says nothing of why: add what it printed (an early exit already has it).
        if (ended !== undefined) throw error;
        throw new Error(`${(error as Error).message}; output so far:\n${output}`, { cause: error });
      });
    },
    alive: () => processesOf(tag, redisPort, realDataDir),
    process: (part) => {
      const found = processesOf(tag, redisPort, realDataDir).find(({ command }) => command.includes(part));
      if (found === undefined) throw new Error(`no live process of npm start runs ${part}`);
      return found;
    },
    pressCtrlC: () => process.kill(-(npm.pid ?? 0), 'SIGINT'),
  };
}

/** `npm start`, once it has said that the API is on; its Redis connection is connected. */
export async function startedNpmStart(options: NpmStartOptions = {}): Promise<NpmStart> {
  const run = await spawnNpmStart(options);
  await run.waitForOutput(API_ON, START_TIMEOUT_MS);
  await run.redis.connect();
  return run;
}

/** Resolves once every process of `run` is gone; fails naming those left. */
export async function waitUntilAllGone(run: NpmStart): Promise<void> {
  await waitFor(() => run.alive().length === 0, { timeoutMs: 30_000, what: 'every process of npm start gone' }).catch(
    (error: unknown) => {
      throw new Error(`left running: ${JSON.stringify(run.alive())}`, { cause: error });
    },
  );
}
