import {
  encodeStatsSnapshot,
  METRICS,
  STATS_KEEPALIVE_MS,
  STATS_PUBLISH_INTERVAL_MS,
  type ConsumerStatsSnapshot,
  type RedisKeys,
  type Registry,
} from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Consumer } from './stream-consumer.js';

export interface StatsPublisherDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  /** The consumer's name in the group: its field in the stats hash. */
  readonly name: string;
  readonly consumer: Pick<Consumer, 'stats' | 'inFlight'>;
  /** Where `timedModel` counts the model's calls. */
  readonly registry: Registry;
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly keepaliveMs?: number;
}

export interface StatsPublisher {
  /** Writes a first snapshot and starts writing one every interval. */
  start(): void;
  /** Stops the timer, then writes a last snapshot. Idempotent. */
  close(): Promise<void>;
}

type ModelCounts = ConsumerStatsSnapshot['model'];

/** The model histogram's cumulative bucket counts, read from the registry (the one place they are counted). */
async function modelCounts(registry: Registry): Promise<ModelCounts> {
  const metric = registry.getSingleMetric(METRICS.modelDuration);
  if (!metric) return { bounds: [], counts: [0], sum: 0 };
  // A histogram's values name their series (`_bucket`, `_sum`, `_count`); prom-client's type leaves that out.
  const values = (await metric.get()).values as {
    metricName?: string;
    labels: { le?: string | number };
    value: number;
  }[];
  const bounds: number[] = [];
  const counts: number[] = [];
  let sum = 0;
  for (const { metricName, labels, value } of values) {
    if (metricName === `${METRICS.modelDuration}_sum`) sum = value;
    if (metricName !== `${METRICS.modelDuration}_bucket`) continue;
    if (labels.le !== '+Inf') bounds.push(Number(labels.le));
    counts.push(value);
  }
  return { bounds, counts, sum };
}

/**
 * Writes the consumer's cumulative counts into its field of the stats hash
 * (consumer-stats.ts) for the API's dashboard: every interval when they
 * changed, every keepalive otherwise, so an idle consumer costs one small
 * HSET (and its AOF line) per keepalive. A tick is skipped while Redis is
 * away or the previous write is still waiting: the consumer's connection
 * queues commands through an outage, and stale snapshots need not pile up.
 */
export function createStatsPublisher({
  redis,
  keys,
  name,
  consumer,
  registry,
  log,
  intervalMs = STATS_PUBLISH_INTERVAL_MS,
  keepaliveMs = STATS_KEEPALIVE_MS,
}: StatsPublisherDeps): StatsPublisher {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let lastCounts = '';
  let lastWrittenAt = 0;
  let closed: Promise<void> | undefined;

  async function write(force: boolean): Promise<void> {
    const snapshot: Omit<ConsumerStatsSnapshot, 'at'> = {
      v: 1,
      started,
      inFlight: consumer.inFlight(),
      jobs: {
        succeeded: consumer.stats.succeeded,
        failed: consumer.stats.failed,
        retried: consumer.stats.retried,
        reclaimed: consumer.stats.reclaimed,
        expired: consumer.stats.expired,
        poison: consumer.stats.poison,
      },
      model: await modelCounts(registry),
    };
    const counts = JSON.stringify(snapshot);
    const now = Date.now();
    if (!force && counts === lastCounts && now - lastWrittenAt < keepaliveMs) return;
    await redis.hset(keys.stats, name, encodeStatsSnapshot({ ...snapshot, at: now }));
    lastCounts = counts;
    lastWrittenAt = now;
  }

  function tick(force: boolean): Promise<void> {
    writing ??= write(force)
      .catch((error: unknown) => log.debug({ err: error }, 'stats snapshot not written'))
      .finally(() => {
        writing = undefined;
      });
    return writing;
  }

  return {
    start() {
      if (timer || closed) return;
      void tick(true);
      timer = setInterval(() => {
        if (redis.status === 'ready') void tick(false);
      }, intervalMs);
      timer.unref();
    },
    close() {
      closed ??= (async () => {
        // Never started (stopped while loading its model): it has nothing to report.
        if (!timer) return;
        clearInterval(timer);
        await writing;
        if (redis.status === 'ready') await tick(true);
      })();
      return closed;
    },
  };
}
