// `npm start`'s Redis runs under this process, which stops it once nobody
// can need it any more: fd 4, its lifeline, is held by the runner and by
// every app process (they inherit a copy), so it ends only when all of them
// are gone, however they went (a runner killed with SIGKILL included). The
// apps drain first; Redis then gets SIGTERM, which keeps its data.
//
// Usage (by start.mjs only): node redis-keeper.mjs '<json options of startLocalRedis>'.
// fd 3 carries its messages to the runner, one JSON object per line:
// `{"ready":true,"pid":n}` or `{"failed":"why"}`. stdout and stderr carry
// Redis's output.
import { Socket } from 'node:net';
import { startLocalRedis } from './local-redis.mjs';

const MESSAGES_FD = 3;
const LIFELINE_FD = 4;
// Redis stops in milliseconds unless its disk stalls the AOF fsync; past this
// it is killed rather than keeping `npm start` from ever ending.
const STOP_GRACE_MS = 30_000;

const options = JSON.parse(process.argv[2] ?? '{}');
const messages = new Socket({ fd: MESSAGES_FD, readable: false, writable: true });
const lifeline = new Socket({ fd: LIFELINE_FD, readable: true, writable: false });
// A runner that is gone reads nothing: Redis's output must still be drained (a
// full pipe would block it) and the keeper must not die of EPIPE.
for (const socket of [messages, lifeline, process.stdout, process.stderr]) socket.on('error', () => undefined);

let redis;
let isStopping = false;

const send = (message) => messages.write(`${JSON.stringify(message)}\n`);
const isRunning = (child) => child.exitCode === null && child.signalCode === null;

function signalRedis() {
  if (redis === undefined || !isRunning(redis)) return;
  redis.kill('SIGTERM');
  setTimeout(() => redis.kill('SIGKILL'), STOP_GRACE_MS).unref();
}

function stop() {
  if (isStopping) return;
  isStopping = true;
  signalRedis();
}

lifeline.once('close', stop);
lifeline.resume();
// Someone stopping the keeper itself gets the same clean stop.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);

/** Once Redis is gone the keeper has nothing left to keep: it lets go of every handle and ends. */
function letGo(exitCode) {
  process.exitCode = exitCode;
  messages.end();
  lifeline.destroy();
}

try {
  await startLocalRedis({
    ...options,
    onLine: (child) => {
      redis = child;
      child.stdout.on('data', (chunk) => process.stdout.write(chunk));
      child.stderr.on('data', (chunk) => process.stderr.write(chunk));
      child.once('close', (code) => letGo(isStopping ? 0 : code || 1));
      if (isStopping) signalRedis();
    },
  });
  send({ ready: true, pid: redis.pid });
} catch (error) {
  send({ failed: error.message });
  letGo(1);
}
