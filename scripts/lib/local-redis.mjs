// The one way foretell starts a redis-server of its own: `npm start`, the
// soak, the bench and the tests. Plain Node, no dependencies: `npm start`
// runs it before anything is built. Types: local-redis.d.mts.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.mjs';

const HOST = '127.0.0.1';
// Lines of the server's output kept for the error when it fails to start.
const TAIL_LINES = 30;
const PROBE_TIMEOUT_MS = 1000;
const PROBE_INTERVAL_MS = 50;

/**
 * `maxmemory` of `npm start`'s Redis (LOCAL_REDIS_MAXMEMORY overrides it),
 * as docker-compose.yml's default: room for the default backlog bytes cap
 * (MAX_QUEUE_BYTES, 64 MiB of inputs, each held twice: stream entry and job
 * hash) and for about half a million small finished jobs kept
 * RESULT_TTL_SECONDS, yet small enough for a laptop. Past it Redis refuses
 * new jobs (503 REDIS_FULL) instead of growing until the kernel kills it.
 */
export const DEFAULT_LOCAL_MAXMEMORY = '256mb';

/**
 * The file in its data folder where `npm start`'s Redis writes its pid
 * (redis-server itself writes it at start and removes it when it shuts down
 * cleanly): with INFO's `process_id`, how a later `npm start` recognises a
 * Redis of its own left running.
 */
export const REDIS_PID_FILE = 'redis.pid';

export { freePort };

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function isPortTaken(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: HOST });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Sends PING over a bare socket: 'pong' when Redis serves commands, 'loading'
 * while it replays its AOF (it accepts connections then, but answers -LOADING),
 * 'down' when nothing answers.
 */
function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: HOST });
    let reply = '';
    const done = (state) => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done('down'));
    socket.once('error', () => done('down'));
    socket.once('close', () => done('down'));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG')) done('pong');
      else if (reply.startsWith('-LOADING')) done('loading');
      else done('down');
    });
  });
}

const isAlive = (child) => child.exitCode === null && child.signalCode === null;

/** Signals `child` and resolves once it is gone; a SIGTERM not obeyed within `graceMs` becomes a SIGKILL. */
async function stopProcess(child, signal, graceMs) {
  if (!isAlive(child)) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  if (signal !== 'SIGKILL') {
    const inTime = await Promise.race([gone.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!inTime) child.kill('SIGKILL');
  }
  await gone;
}

/**
 * Starts redis-server on 127.0.0.1 with the settings of every Redis of ours
 * (those of docker-compose.yml, which says why), and resolves once it answers
 * PING. Fails at once, with the server's output, if it exits while starting.
 */
export async function launchRedis({
  redisServer = 'redis-server',
  port: wantedPort,
  dir: wantedDir,
  tempPrefix = 'foretell-redis-',
  appendOnly = false,
  maxMemory,
  detached = false,
  onSpawn,
  startTimeoutMs = 10_000,
  stopGraceMs = 10_000,
  configFile,
  extraArgs = [],
} = {}) {
  const port = wantedPort ?? (await freePort());
  const madeDir = wantedDir === undefined;
  const dir = madeDir ? await mkdtemp(join(tmpdir(), tempPrefix)) : wantedDir;
  if (!madeDir) mkdirSync(dir, { recursive: true });
  // redis-server reads a configuration file only as its first argument.
  const args = configFile === undefined ? [] : [configFile];
  args.push('--port', String(port), '--bind', HOST, '--dir', dir, '--save', '');
  args.push('--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'everysec');
  args.push('--maxmemory-policy', 'noeviction', '--hash-max-listpack-value', '1024');
  if (maxMemory !== undefined) args.push('--maxmemory', String(maxMemory));
  args.push(...extraArgs);
  let child;

  const start = async () => {
    // Another server on the port would answer our PING in place of ours.
    if (await isPortTaken(port)) throw new Error(`port ${port} is already in use: redis-server cannot listen there`);
    const started = spawn(redisServer, args, { detached, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    const tail = [];
    for (const stream of [started.stdout, started.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      });
    }
    onSpawn?.(started);
    const failed = new Promise((_, reject) => {
      started.once('error', (error) => {
        const hint = error.code === 'ENOENT' ? ': install Redis ≥ 7 or put redis-server on the PATH' : '';
        reject(new Error(`could not start ${redisServer}: ${error.message}${hint}`));
      });
      // 'close', not 'exit': by then the whole output has been read.
      started.once('close', (code, signal) => {
        const output = tail.length > 0 ? `; its output:\n${tail.join('\n')}` : ' without output';
        reject(new Error(`redis-server on port ${port} exited (${signal ?? code}) while starting${output}`));
      });
    });
    // Only the start listens: a later exit (our own stop) is no failure.
    failed.catch(() => undefined);

    const answered = async () => {
      const deadline = Date.now() + startTimeoutMs;
      let loading = false;
      for (;;) {
        const state = await ping(port);
        if (state === 'pong') return;
        if (!isAlive(started) || started.pid === undefined) return failed;
        // Replaying a large AOF takes as long as it takes: the deadline is for a first answer.
        if (state === 'loading') loading = true;
        else if (!loading && Date.now() > deadline) {
          throw new Error(
            `redis-server did not answer on port ${port} within ${startTimeoutMs} ms:\n${tail.join('\n')}`,
          );
        }
        await sleep(PROBE_INTERVAL_MS);
      }
    };
    try {
      await Promise.race([failed, answered()]);
    } catch (error) {
      await stopProcess(started, 'SIGKILL', 0);
      throw error;
    }
  };

  const stop = ({ crash = false } = {}) => stopProcess(child, crash ? 'SIGKILL' : 'SIGTERM', stopGraceMs);
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    if (child) await stop();
    if (madeDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    get pid() {
      return child.pid;
    },
    get child() {
      return child;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    dispose,
  };
}

/**
 * `npm start`'s Redis: AOF on, `maxmemory` (DEFAULT_LOCAL_MAXMEMORY unless
 * given), data in `dir` (kept) with its pid in REDIS_PID_FILE there, in its
 * own process group so that Ctrl-C reaches the runner first (Redis must
 * outlive the apps' drain). `onLine` gets the process before it prints, to
 * show its output. Resolves with the process once it answers PING.
 */
export async function startLocalRedis({ redisServer, port, dir, onLine, maxMemory = DEFAULT_LOCAL_MAXMEMORY }) {
  if (await isPortTaken(port)) {
    throw Object.assign(
      new Error(
        `LOCAL_REDIS_PORT: port ${port} is already in use; set LOCAL_REDIS_PORT to a free port, or REDIS_URL=redis://127.0.0.1:${port} to use the Redis there.`,
      ),
      { exitCode: 1 },
    );
  }
  const redis = await launchRedis({
    redisServer,
    port,
    dir,
    appendOnly: true,
    maxMemory,
    detached: true,
    onSpawn: onLine,
    extraArgs: ['--pidfile', resolve(dir, REDIS_PID_FILE)],
  });
  return redis.child;
}
