import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { RedisKeys } from '../redis-keys.js';
import { METRICS } from './metric-names.js';

/** What the queue gauges show, read in one round trip. */
export interface QueueSnapshot {
  readonly length: number;
  readonly pending: number;
  readonly lag: number;
  readonly oldestAgeSeconds: number;
  readonly retriesScheduled: number;
  readonly deadLetters: number;
}

export interface QueueMetricsOptions {
  /** A snapshot serves every scrape for this long: ten scrapes a second cost one read a second. */
  readonly cacheMs?: number;
  /** A read that takes longer (Redis away: the consumer's commands wait for it) gives NaN, not a stuck scrape. */
  readonly timeoutMs?: number;
  readonly onError?: (error: unknown) => void;
}

const UNKNOWN: QueueSnapshot = {
  length: Number.NaN,
  pending: Number.NaN,
  lag: Number.NaN,
  oldestAgeSeconds: Number.NaN,
  retriesScheduled: Number.NaN,
  deadLetters: Number.NaN,
};

type Reply = [Error | null, unknown];

/** A pipelined reply's value; its error, thrown (a snapshot is whole or not at all). */
function valueOf(reply: Reply | undefined): unknown {
  if (!reply) throw new Error('a reply is missing from the pipeline');
  if (reply[0]) throw reply[0];
  return reply[1];
}

/** Fields of one XINFO GROUPS entry (a flat [name, value, …] list). */
function fieldsOf(flat: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  if (!Array.isArray(flat)) return fields;
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
  return fields;
}

/**
 * The queue as Redis has it now, in one pipeline: XLEN, XINFO GROUPS (pending
 * and lag), the oldest entry's id (its time) with Redis's own clock, ZCARD of
 * the retries, XLEN of the dead letters. A stream or group that does not
 * exist yet is an empty queue.
 */
export async function readQueueSnapshot(redis: Redis, keys: RedisKeys): Promise<QueueSnapshot> {
  const replies =
    (await redis
      .pipeline()
      .xlen(keys.jobs)
      .xinfo('GROUPS', keys.jobs)
      .xrange(keys.jobs, '-', '+', 'COUNT', 1)
      .time()
      .zcard(keys.retries)
      .xlen(keys.dead)
      .exec()) ?? [];
  const [xlen, groups, oldest, time, retries, dead] = replies as (Reply | undefined)[];
  const length = Number(valueOf(xlen));
  // XINFO GROUPS of a stream that does not exist yet is an error: no group either.
  const noStream = groups?.[0] && /no such key/i.test(groups[0].message);
  const group = noStream
    ? undefined
    : (valueOf(groups) as unknown[]).map(fieldsOf).find((fields) => fields.get('name') === keys.group);
  const pending = Number(group?.get('pending') ?? 0);
  // Redis 7 reports the lag unless it cannot tell (it then says nil); acked
  // entries are deleted here, so what is neither pending nor acked is the lag.
  const reportedLag = group?.get('lag');
  const lag = typeof reportedLag === 'number' ? reportedLag : group ? Math.max(0, length - pending) : length;
  const [oldestId] = (valueOf(oldest) as [string, string[]][])[0] ?? [];
  // Entry ids carry Redis's clock: the age is measured with it too.
  const [seconds, micros] = valueOf(time) as [string, string];
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const oldestMs = oldestId === undefined ? nowMs : Number(oldestId.split('-')[0]);
  return {
    length,
    pending,
    lag,
    oldestAgeSeconds: Math.max(0, nowMs - oldestMs) / 1000,
    retriesScheduled: Number(valueOf(retries)),
    deadLetters: Number(valueOf(dead)),
  };
}

/**
 * Registers the queue gauges (`QUEUE_METRIC_NAMES`), read from Redis when
 * scraped: one pipelined read serves every gauge and every scrape within
 * `cacheMs`; concurrent scrapes share one read. Every process of a
 * deployment reports the same values: aggregate them with `max`.
 */
export function registerQueueMetrics(
  registry: Registry,
  redis: Redis,
  keys: RedisKeys,
  { cacheMs = 1000, timeoutMs = 2000, onError }: QueueMetricsOptions = {},
): void {
  let cached: { readonly at: number; readonly snapshot: Promise<QueueSnapshot> } | undefined;
  const snapshot = (): Promise<QueueSnapshot> => {
    const now = Date.now();
    if (cached && now - cached.at < cacheMs) return cached.snapshot;
    let timer: NodeJS.Timeout | undefined;
    const read = Promise.race([
      readQueueSnapshot(redis, keys),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
      }),
    ])
      .catch((error: unknown) => {
        onError?.(error);
        return UNKNOWN;
      })
      .finally(() => clearTimeout(timer));
    cached = { at: now, snapshot: read };
    return read;
  };
  const gauge = (name: string, help: string, pick: (s: QueueSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await snapshot()));
      },
    });
  gauge(METRICS.queueLength, 'Entries in the jobs stream, waiting or in flight (the backlog).', (s) => s.length);
  gauge(METRICS.queuePending, 'Entries delivered to a consumer and not yet acknowledged.', (s) => s.pending);
  gauge(METRICS.queueLag, 'Entries not yet delivered to any consumer.', (s) => s.lag);
  gauge(
    METRICS.queueOldestAge,
    'Age of the oldest entry in the jobs stream, in seconds; 0 when empty.',
    (s) => s.oldestAgeSeconds,
  );
  gauge(METRICS.retriesScheduled, 'Jobs waiting for a retry.', (s) => s.retriesScheduled);
  gauge(METRICS.deadLetters, 'Entries in the dead-letter stream.', (s) => s.deadLetters);
}
