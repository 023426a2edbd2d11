import { createMockModel, type Model } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp, type AppDeps } from '../src/app.js';

export const TEST_CONFIG: AppDeps['config'] = {
  KEY_PREFIX: 'unused',
  RESULT_TTL_SECONDS: 3600,
  SYNC_TIMEOUT_MS: 5000,
  BODY_LIMIT_BYTES: 1024,
};

/** The real app on a test prefix, with the mock model at the given latency (0 by default). */
export function buildTestApp(
  redis: Redis,
  prefix: string,
  options: { model?: Model; config?: Partial<AppDeps['config']> } = {},
): Promise<FastifyInstance> {
  return buildApp({
    config: { ...TEST_CONFIG, ...options.config, KEY_PREFIX: prefix },
    redis,
    model: options.model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
  });
}
