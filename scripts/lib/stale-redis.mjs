// What holds `npm start`'s Redis port: nothing, a Redis of ours left running
// by an earlier `npm start` (stopped and replaced), or something else (an
// error naming LOCAL_REDIS_PORT). Plain Node: runs before anything is built.
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPortTaken, REDIS_PID_FILE } from './local-redis.mjs';
import { parseInfo, redisCommand } from './redis-command.mjs';

const POLL_MS = 50;
// A shutdown fsyncs the AOF; a large one on a slow disk may take a while.
const SHUTDOWN_TIMEOUT_MS = 60_000;

function readPidFile(dir) {
  try {
    const pid = Number(readFileSync(join(dir, REDIS_PID_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // none: the last Redis there stopped cleanly, or never started
  }
}

function sameDir(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * `{ state: 'free' }`, `{ state: 'ours', pid }` when the server on `port` is
 * the redis-server that wrote the pid file in `dir` and works in `dir`
 * (INFO's `process_id` and CONFIG GET dir: a pid file alone could name a
 * reused pid), or `{ state: 'foreign', reason }`.
 */
export async function whoHoldsPort({ port, dir }) {
  if (!(await isPortTaken(port))) return { state: 'free' };
  const filePid = readPidFile(dir);
  let info;
  try {
    info = await redisCommand(port, ['INFO', 'server']);
  } catch (error) {
    return { state: 'foreign', reason: `it does not answer as Redis (${error.message})` };
  }
  if (typeof info !== 'string') {
    return { state: 'foreign', reason: info instanceof Error ? `Redis answered ${info.message}` : 'not Redis' };
  }
  const pid = Number(parseInfo(info).process_id);
  if (filePid === undefined || pid !== filePid) return { state: 'foreign', reason: `a Redis not started from ${dir}` };
  const config = await redisCommand(port, ['CONFIG', 'GET', 'dir']).catch(() => undefined);
  if (!Array.isArray(config) || !sameDir(String(config[1]), dir)) {
    return { state: 'foreign', reason: `a Redis whose data is not in ${dir}` };
  }
  return { state: 'ours', pid };
}

/** SHUTDOWN (which keeps the data: AOF fsynced) of the Redis on `port`; resolves once the port is free. */
export async function shutdownRedis(port) {
  // A failed connection is no answer: the wait below says whether it stopped.
  const reply = await redisCommand(port, ['SHUTDOWN'], { timeoutMs: SHUTDOWN_TIMEOUT_MS }).catch(() => 'closed');
  if (reply instanceof Error) throw new Error(`SHUTDOWN of the Redis on port ${port} failed: ${reply.message}`);
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
  while (await isPortTaken(port)) {
    if (Date.now() > deadline) throw new Error(`the Redis on port ${port} did not stop after SHUTDOWN`);
    await sleep(POLL_MS);
  }
}
