import { createMockModel, type Model } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildApp, type AppDeps } from '../src/app.js';

export const TEST_CONFIG: AppDeps['config'] = {
  KEY_PREFIX: 'unused',
  RESULT_TTL_SECONDS: 3600,
  SYNC_TIMEOUT_MS: 5000,
  BODY_LIMIT_BYTES: 1024,
  MAX_QUEUE_LENGTH: 0,
  MAX_SYNC_IN_FLIGHT: 1000,
};

export interface TestAppOptions {
  model?: Model;
  config?: Partial<AppDeps['config']>;
}

/** The real app on a test prefix, with the mock model at latency 0 unless another model is given. */
export function buildTestApp(redis: Redis, prefix: string, options: TestAppOptions = {}): Promise<FastifyInstance> {
  return buildApp({
    config: { ...TEST_CONFIG, ...options.config, KEY_PREFIX: prefix },
    redis,
    model: options.model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
  });
}

export interface TestAppContext {
  /** The run's Redis under this test's own prefix. */
  t: TestRedis;
  app: FastifyInstance;
  /** Replaces the app with one built with other options (closing the first). */
  rebuild(options: TestAppOptions): Promise<FastifyInstance>;
}

/** A fresh app on a fresh prefix for each test of the file, closed and cleaned after it. */
export function useTestApp(): TestAppContext {
  const context = {} as TestAppContext;
  beforeEach(async () => {
    context.t = testRedis();
    context.app = await buildTestApp(context.t.redis, context.t.prefix);
  });
  afterEach(async () => {
    await context.app.close();
    await context.t.cleanup();
  });
  context.rebuild = async (options) => {
    await context.app.close();
    context.app = await buildTestApp(context.t.redis, context.t.prefix, options);
    return context.app;
  };
  return context;
}
