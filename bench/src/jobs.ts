import { randomUUID } from 'node:crypto';
import { ENQUEUE_JOB_LUA, enqueueJobArgs, type RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { ASYNC_HEADERS, PREDICT_BODY, runLoad } from './load.js';
import { waitFor } from './wait-for.js';

/** Pairs of a flat Redis reply (`XINFO`), `[k1, v1, k2, v2]`, as an object. */
export function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}

// Commands per pipeline: large enough to keep Redis busy, small enough to bound the reply buffer.
const CHUNK = 2000;
const DAY_SECONDS = 86_400;

/**
 * Queues `count` jobs the way the API does (the enqueue-job script: hash with
 * its TTL, then the stream entry), pipelined, without the API. Resolves with
 * their ids.
 */
export async function fillBacklog(redis: Redis, keys: RedisKeys, count: number, input: string): Promise<string[]> {
  const sha = String(await redis.script('LOAD', ENQUEUE_JOB_LUA));
  const ids: string[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(count, start + CHUNK); i += 1) {
      const id = randomUUID();
      ids.push(id);
      // No caps and no idempotency key, as the API sends for a plain async POST with MAX_QUEUE_* 0.
      const call = { id, input, ttlSeconds: DAY_SECONDS, maxQueueLength: 0, maxQueueBytes: 0 };
      pipeline.evalsha(sha, ...enqueueJobArgs(keys, call));
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw failed[0] as Error;
  }
  return ids;
}

export interface JobState {
  readonly status: string | null;
  readonly finished: number;
  readonly result: string | null;
}

/** Status, finish time (Unix ms, NaN if none) and result of each job, pipelined. */
export async function readJobs(redis: Redis, keys: RedisKeys, ids: readonly string[]): Promise<JobState[]> {
  const states: JobState[] = [];
  for (let start = 0; start < ids.length; start += CHUNK) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(start, start + CHUNK)) pipeline.hmget(keys.job(id), 'status', 'finished', 'result');
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      const [status, finished, result] = reply as (string | null)[];
      states.push({
        status: status ?? null,
        finished: finished ? Number(finished) : Number.NaN,
        result: result ?? null,
      });
    }
  }
  return states;
}

/** Throws unless every job succeeded. */
export function assertAllSucceeded(states: readonly JobState[], what: string): void {
  const counts: Record<string, number> = {};
  for (const { status } of states) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  if ((counts.succeeded ?? 0) !== states.length) {
    throw new Error(`${what}: not every job succeeded: ${JSON.stringify(counts)}`);
  }
}

/**
 * Jobs per second between the first completion and the last: the jobs that
 * finished after the first finish time, over the time they took. Uses the
 * finish times the consumer itself wrote, so neither process start-up nor
 * polling enters the figure.
 */
export function completionRate(states: readonly JobState[]): number {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { finished } of states) {
    if (finished < first) first = finished;
    if (finished > last) last = finished;
  }
  const after = states.filter(({ finished }) => finished > first).length;
  return last > first ? after / ((last - first) / 1000) : Number.NaN;
}

/** Submits `count` async jobs through the API; resolves with their ids and when the last 202 arrived. */
export async function submitJobs(
  apiUrl: string,
  count: number,
  connections: number,
): Promise<{ ids: string[]; lastAcceptedAt: number }> {
  const ids: string[] = [];
  let lastAcceptedAt = 0;
  await runLoad({
    url: apiUrl,
    connections: Math.min(connections, count),
    amount: count,
    method: 'POST',
    path: '/predict',
    headers: ASYNC_HEADERS,
    body: PREDICT_BODY,
    expectStatus: 202,
    onResponse: (status, headers) => {
      if (status !== 202) return;
      lastAcceptedAt = Date.now();
      const location = headers.location;
      if (typeof location === 'string') ids.push(location.slice('/predict/'.length));
    },
  });
  if (ids.length !== count) throw new Error(`submitted ${count} jobs, ${ids.length} were accepted`);
  return { ids, lastAcceptedAt };
}

/** Waits until the jobs stream is empty (every entry acked and deleted), while `alive` does not throw. */
export async function waitForEmptyStream(
  redis: Redis,
  keys: RedisKeys,
  timeoutMs: number,
  alive: () => void,
): Promise<void> {
  await waitFor(async () => (await redis.xlen(keys.jobs)) === 0, {
    timeoutMs,
    intervalMs: 10,
    what: `${keys.jobs} to drain`,
    unless: alive,
  });
}
