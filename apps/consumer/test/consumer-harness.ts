import { createMockModel, ENQUEUE_JOB_LUA, type Model } from '@foretell/shared';
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
  /** Writes a job as the API does, with its script: hash with TTL and stream entry. */
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
      await t.redis.eval(ENQUEUE_JOB_LUA, 2, t.keys.job(id), t.keys.jobs, id, input, Date.now(), ttlSeconds, 0, '');
      return id;
    },
    async dispose() {
      await consumer.close();
      await t.cleanup();
    },
  };
}
