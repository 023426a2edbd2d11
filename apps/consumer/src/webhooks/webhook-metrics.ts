import { METRICS, type RedisKeys, type Registry } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import type { WebhookStats } from './webhook-deliverer.js';

export interface WebhookMetricsSources {
  /** The deliverer's counts (all zero in a consumer without WEBHOOK_SECRET). */
  readonly stats: Readonly<WebhookStats>;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  /** Called when Redis does not answer a scrape's ZCARD. */
  readonly onError?: (error: unknown) => void;
}

const OUTCOMES = ['delivered', 'retried', 'failed', 'gone'] as const;
// Scraping ten times a second costs Redis one ZCARD a second at most.
const CACHE_MS = 1000;
// A scrape never waits longer on Redis than this: the gauge is then NaN (unknown), not stale.
const ANSWER_WITHIN_MS = 2000;

/**
 * The consumer's webhook metrics: its deliveries by outcome, read from the
 * deliverer's counts when scraped (nothing is added to a delivery's path),
 * and the deliveries waiting in Redis, one ZCARD cached for a second.
 */
export function registerWebhookMetrics(registry: Registry, sources: WebhookMetricsSources): void {
  const { stats, redis, keys, onError } = sources;
  new Counter({
    name: METRICS.webhookDeliveries,
    help: 'Webhook deliveries this consumer settled, by outcome (retried: attempts that failed and were rescheduled).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      // Set from the counts, which only grow: reset, then each outcome's total.
      this.reset();
      for (const outcome of OUTCOMES) this.inc({ outcome }, stats[outcome]);
    },
  });

  let cached: { at: number; value: Promise<number> } | undefined;
  const pending = (): Promise<number> => {
    const now = Date.now();
    if (cached && now - cached.at < CACHE_MS) return cached.value;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(Number.NaN), ANSWER_WITHIN_MS);
      timer.unref();
    });
    const read = Promise.race([
      redis.zcard(keys.webhooks).catch((error: unknown) => {
        onError?.(error);
        return Number.NaN;
      }),
      timeout,
    ]).finally(() => clearTimeout(timer));
    cached = { at: now, value: read };
    return read;
  };
  new Gauge({
    name: METRICS.webhooksPending,
    help: 'Webhook deliveries waiting to be sent or being sent (all consumers: aggregate with max).',
    registers: [registry],
    async collect() {
      this.set(await pending());
    },
  });
}
