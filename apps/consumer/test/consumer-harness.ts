import { createMockModel, encodeJobMessage, newJobFields, type Model } from '@foretell/shared';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { createConsumer, type Consumer, type ConsumerSettings } from '../src/stream-consumer.js';

export const SETTINGS: ConsumerSettings = {
  name: 'test-consumer',
  concurrency: 16,
  blockMs: 200,
  resultTtlSeconds: 3600,
  shutdownGraceMs: 5000,
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
  claimIdleMs: 60_000,
  removeIdleConsumersAfterMs: 3_600_000,
};

export interface Harness extends TestRedis {
  consumer: Consumer;
  /** Writes a job as the API does: hash with TTL and stream entry, in one transaction. */
  enqueue(input: string, ttlSeconds?: number): Promise<string>;
  /** Stops the consumer and cleans Redis up. */
  dispose(): Promise<void>;
}

/** A real consumer on a fresh key prefix of the run's redis-server. */
export interface HarnessOptions {
  model?: Model;
  settings?: Partial<ConsumerSettings>;
  /** Another harness's prefix, for several consumers in one group. */
  prefix?: string;
}

export function createHarness(options: HarnessOptions = {}): Harness {
  const t = testRedis(options.prefix);
  const consumer = createConsumer({
    redis: t.redis,
    model: options.model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    keys: t.keys,
    log: pino({ level: 'silent' }),
    settings: { ...SETTINGS, ...options.settings },
  });
  return {
    ...t,
    consumer,
    async enqueue(input, ttlSeconds = 3600) {
      const id = randomUUID();
      await t.redis
        .multi()
        .hset(t.keys.job(id), newJobFields(input, Date.now()))
        .expire(t.keys.job(id), ttlSeconds)
        .xadd(t.keys.jobs, '*', ...encodeJobMessage({ id, input }))
        .exec();
      return id;
    },
    async dispose() {
      await consumer.close();
      await t.cleanup();
    },
  };
}
