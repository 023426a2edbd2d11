// `npm start`: the whole service from a clean clone. Checks its settings and
// ports first, installs dependencies and builds only when something changed,
// starts a local redis-server (data in .data/redis, AOF on) unless REDIS_URL
// is set, then the API (127.0.0.1:8080 unless HOST and PORT say otherwise)
// and one consumer, with their logs prefixed and pretty-printed, and says
// "API on …" once the API listens. Every variable of the README's
// configuration table is passed through.
//
// Stopping: SIGINT, SIGTERM or SIGHUP, to npm or to this runner, drains the
// apps, then stops Redis; a second signal kills everything at once. The apps
// and Redis also stop by themselves when this runner dies, even by SIGKILL:
// each app watches a pipe from the runner (lib/stop-with-runner.mjs), and
// Redis runs under a keeper that stops it once the runner and the apps are all
// gone (lib/redis-keeper.mjs).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setInterval } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertCanListen } from './lib/api-port.mjs';
import { checkAppConfig } from './lib/app-config.mjs';
import { acquireRunLock } from './lib/run-lock.mjs';
import {
  buildWhatChanged,
  ensureSystemCommand,
  installDependencies,
  log,
  REDIS_SERVER,
  reportFailure,
  warnIfUnsupportedNode,
} from './lib/run.mjs';
import { createServiceOutput } from './lib/service-output.mjs';
import { shutdownRedis, whoHoldsPort } from './lib/stale-redis.mjs';
import { readStartSettings } from './lib/start-settings.mjs';
import { buildState } from './lib/up-to-date.mjs';
import { waitForApi } from './lib/wait-for-api.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const APPS = { api: 'apps/api/dist/server.js', consumer: 'apps/consumer/dist/main.js' };
const STOP_WITH_RUNNER = fileURLToPath(new URL('./lib/stop-with-runner.mjs', import.meta.url));
const REDIS_KEEPER = fileURLToPath(new URL('./lib/redis-keeper.mjs', import.meta.url));
// A Ctrl-C in a terminal reaches both npm and this runner, and npm forwards
// its copy: a signal this soon after the first is that same Ctrl-C, not a
// second one. (npm forwards at once; only a machine stalled for a second
// would make its copy count as a second signal.)
const SAME_SIGNAL_MS = 1000;
// How often the runner looks whether npm, its parent, is still there: npm
// dies of a SIGHUP (or SIGKILL) without passing anything on.
const PARENT_CHECK_MS = 500;
// pino's level number of `error`, and Fastify's line once it listens.
const PINO_ERROR = 50;
const LISTENING = 'Server listening at ';
// Lines of an app's plain (not JSON) output kept to say why it exited while starting: a stack trace's worth.
const MESSAGE_LINES = 50;

// A closed terminal (EIO) or a reader gone (EPIPE) must not stop the stop.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

/** Aborted, with the reason, when the runner is to stop: a signal, npm gone, or a process that ended. */
const stopRequest = new AbortController();
const isStopRequested = () => stopRequest.signal.aborted;
let firstSignalAt;
let force = () => undefined;
let releaseLock = () => undefined;
let isDone = false;

/** Exits with `code`, saying why on stderr when `failure` is given. */
function finish(code, failure) {
  isDone = true;
  releaseLock();
  if (failure !== undefined) reportFailure(failure);
  process.exit(code);
}

function onSignal(signal) {
  if (firstSignalAt === undefined) {
    firstSignalAt = Date.now();
    stopRequest.abort(signal);
    setTimeout(() => {
      if (!isDone) log('press Ctrl-C again to kill everything now');
    }, SAME_SIGNAL_MS).unref();
  } else if (Date.now() - firstSignalAt >= SAME_SIGNAL_MS) {
    force();
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);

// Run by a package manager, the runner lives as long as it; started directly
// (`nohup node scripts/start.mjs &`), it outlives the shell that started it.
if (process.env.npm_lifecycle_event !== undefined && process.ppid !== 1) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stopRequest.abort('npm is gone');
  }, PARENT_CHECK_MS).unref();
}

const failure = (message) => Object.assign(new Error(message), { exitCode: 1 });

/** Resolves with the value of `promise`, or with `undefined` as soon as a stop is requested. */
function unlessStopped(promise) {
  if (isStopRequested()) return Promise.resolve(undefined);
  return Promise.race([
    promise,
    new Promise((resolve) => stopRequest.signal.addEventListener('abort', () => resolve(undefined), { once: true })),
  ]);
}

/** Settings and ports first: a bad value or a busy port is reported before any install or build. */
async function preflight() {
  const settings = readStartSettings(process.env, root);
  if (settings.port !== 0) await assertCanListen(settings.host, settings.port);
  if (settings.metrics.port !== 0) {
    await assertCanListen(settings.metrics.host, settings.metrics.port, { port: 'METRICS_PORT', host: 'METRICS_HOST' });
  }
  const redis = settings.localRedis;
  if (redis === undefined) return { settings };
  releaseLock = acquireRunLock(redis.dir);
  const holder = await whoHoldsPort(redis);
  if (holder.state === 'foreign') {
    throw failure(
      `LOCAL_REDIS_PORT: port ${redis.port} is already in use (${holder.reason}); set LOCAL_REDIS_PORT to a free port, or REDIS_URL=redis://127.0.0.1:${redis.port} to use the Redis there.`,
    );
  }
  if (holder.state === 'ours') {
    log(
      `stopping the redis-server (pid ${holder.pid}) an earlier npm start left on port ${redis.port}; its data stays`,
    );
    await shutdownRedis(redis.port);
  }
  return { settings, redisServer: await ensureSystemCommand(REDIS_SERVER) };
}

/** REDIS_URL without its password, as the apps log it (their shared package says how, once built). */
async function redactedRedisUrl(url) {
  const { redactCredentials } = await import(pathToFileURL(`${root}packages/shared/dist/config-loader.js`).href);
  return redactCredentials(url);
}

/** A child process with the promise of its end: `closed` resolves once it exited and its output was read. */
function track(child) {
  const closed = new Promise((resolve) => child.once('close', (code, signal) => resolve(signal ?? code)));
  child.once('error', () => undefined); // a failed spawn ends in 'close' too
  return { child, closed, isRunning: () => child.exitCode === null && child.signalCode === null };
}

/**
 * Starts the keeper, which starts Redis. `ready` resolves with the keeper's
 * answer: `{ ready: true }` once Redis answers, or `{ failed }`.
 */
function startRedis(output, { port, dir, maxMemory }, redisServer) {
  log(`starting redis-server on 127.0.0.1:${port} (data in ${dir}, AOF on, maxmemory ${maxMemory})`);
  // Its own process group: a Ctrl-C in the terminal must not reach it (Redis must outlive the apps' drain).
  const keeper = track(
    spawn(process.execPath, [REDIS_KEEPER, JSON.stringify({ redisServer, port, dir, maxMemory })], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    }),
  );
  output.show('redis', [keeper.child.stdout, keeper.child.stderr]);
  const [messages, lifeline] = [keeper.child.stdio[3], keeper.child.stdio[4]];
  messages.on('error', () => undefined);
  const ready = new Promise((resolve) => {
    createInterface({ input: messages }).once('line', (line) => resolve(JSON.parse(line)));
    void keeper.closed.then((exit) => resolve({ failed: `the Redis keeper exited (${exit}) before Redis was up` }));
  });
  return { keeper, lifeline, ready };
}

/**
 * Starts one app, watching the runner (fd 3: lib/stop-with-runner.mjs) and
 * holding Redis's lifeline (fd 4). `listening` resolves with the URL the app
 * logs that it listens on; `lastWords()` is what it said last about a problem.
 */
function startApp(output, name, env, redisLifeline) {
  const app = track(
    spawn(process.execPath, ['--import', STOP_WITH_RUNNER, APPS[name]], {
      cwd: root,
      env,
      // Its own process group: a terminal's Ctrl-C reaches the runner, which stops the apps once, in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', redisLifeline ?? 'ignore'],
    }),
  );
  const plainLines = [];
  let lastError;
  let onListening;
  app.listening = new Promise((resolve) => (onListening = resolve));
  output.show(name, [app.child.stdout, app.child.stderr], (line) => {
    if (!line.startsWith('{')) {
      if (line.trim() !== '') plainLines.push(line.trimEnd());
      if (plainLines.length > MESSAGE_LINES) plainLines.shift();
      return;
    }
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // not JSON after all: shown, nothing to learn from it
    }
    if (typeof entry.msg !== 'string') return;
    if (entry.msg.startsWith(LISTENING)) onListening(entry.msg.slice(LISTENING.length));
    if (entry.level >= PINO_ERROR) lastError = [entry.msg, entry.err?.message].filter(Boolean).join(': ');
  });
  app.lastWords = () => {
    // The apps print `foretell <app>: <why>` (then indented details) or, crashing, Node's `Error: <why>` and a stack.
    const first = plainLines.findIndex((line) => /^(foretell \w+|(?:[A-Z]\w*)?Error): /.test(line));
    if (first < 0) return lastError ?? plainLines.at(-1) ?? 'it said nothing';
    const details = plainLines.slice(first + 1).filter((line) => /^\s+(?!at |\[cause\])\S/.test(line));
    return [plainLines[first], ...(plainLines[first]?.endsWith(':') ? details : [])].join(' ');
  };
  return app;
}

async function main() {
  warnIfUnsupportedNode();
  const { settings, redisServer } = await preflight();
  await installDependencies({ signal: stopRequest.signal });
  await buildWhatChanged([buildState(root)], { signal: stopRequest.signal });
  const env = { ...process.env, HOST: settings.host };
  const redisSettings = settings.localRedis;
  if (redisSettings !== undefined) env.REDIS_URL = `redis://127.0.0.1:${redisSettings.port}`;
  await checkAppConfig(root, env);
  if (redisSettings === undefined) log(`using REDIS_URL=${await redactedRedisUrl(env.REDIS_URL)}`);
  // pino-pretty is a dev dependency: imported only once it is installed.
  const { prettyFactory } = await import('pino-pretty');
  const output = createServiceOutput(prettyFactory);
  if (isStopRequested()) return finish(0);

  const apps = [];
  let redis;
  let code = 0;
  let reason;
  const everything = () => [...apps.map((app) => app.closed), ...(redis ? [redis.keeper.closed] : [])];

  /** Drains the apps (their lifelines closed), then Redis (the keeper sees its lifeline end once the apps are gone). */
  const stopAll = async () => {
    log(`stopping: draining the API and the consumer${redis ? ', then Redis' : ''}`);
    for (const app of apps) app.child.stdio[3].destroy();
    redis?.lifeline.destroy();
    await Promise.all(everything());
    // A keeper killed on its own leaves Redis behind: stop it as an earlier run's.
    if (redisSettings !== undefined && (await whoHoldsPort(redisSettings)).state === 'ours') {
      await shutdownRedis(redisSettings.port);
    }
    finish(code, reason);
  };
  force = () => {
    force = () => undefined;
    log('second signal: killing everything now');
    for (const app of apps) if (app.isRunning()) app.child.kill('SIGKILL');
    redis?.lifeline.destroy();
    void Promise.all(everything()).then(() => finish(1));
  };
  /** Something ended on its own: stop the rest, and exit non-zero saying why. */
  const fail = (message) => {
    if (isStopRequested()) return;
    code = 1;
    reason = failure(message);
    stopRequest.abort(message);
  };
  stopRequest.signal.addEventListener('abort', () => stopAll().catch((error) => finish(1, error)), { once: true });

  if (redisSettings !== undefined) {
    redis = startRedis(output, redisSettings, redisServer);
    const answer = await unlessStopped(redis.ready);
    if (answer === undefined) return;
    if (answer.failed !== undefined) return fail(answer.failed);
    void redis.keeper.closed.then((exit) => fail(`redis-server exited (${exit}); stopped the rest`));
  }

  let isStarted = false;
  for (const [name, title] of [
    ['api', 'the API'],
    ['consumer', 'the consumer'],
  ]) {
    const app = startApp(output, name, env, redis?.lifeline);
    apps.push(app);
    void app.closed.then((exit) =>
      fail(
        isStarted
          ? `${title} exited (${exit}); stopped the rest`
          : `${title} exited (${exit}) while starting: ${app.lastWords()}`,
      ),
    );
  }
  const url = await waitForApi(apps[0].listening, settings, stopRequest.signal);
  if (url === undefined) return;
  isStarted = true;
  log(`API on ${url} — Swagger UI at ${url}/docs. Ctrl-C stops.`);
}

main().catch((error) => {
  // A stop asked for while installing or building ends that step: no failure.
  if (isStopRequested()) finish(0);
  else finish(error.exitCode ?? 1, error);
});
