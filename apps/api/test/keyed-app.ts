import { createMockModel, type Model } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach } from 'vitest';
import { injectClient, type InjectTarget, type PredictClient } from '../../../test/support/predict-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildApp, type AppDeps } from '../src/app.js';
import { TEST_CONFIG } from './build-test-app.js';

/** Two keys of the shortest length accepted, and one that is not configured. */
export const KEY_A = 'A'.repeat(20) + '-key-of-team-a';
export const KEY_B = 'B'.repeat(20) + '-key-of-team-b';
export const NOT_A_KEY = 'C'.repeat(20) + '-key-of-nobody';

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** The /predict client of `app`, sending `headers` (an Authorization, say) with every request. */
export function clientWith(app: FastifyInstance, headers: Readonly<Record<string, string>>): PredictClient {
  const target: InjectTarget = {
    inject: (options) => app.inject({ ...options, headers: { ...options.headers, ...headers } }),
  };
  return injectClient(target);
}

export interface KeyedAppOptions {
  readonly apiKeys?: readonly string[];
  readonly config?: Partial<AppDeps['config']>;
  readonly model?: Model;
}

export interface KeyedApps {
  /** This test's Redis and prefix. */
  readonly t: TestRedis;
  /** An app on this test's prefix with KEY_A and KEY_B unless other keys are given; closed after the test. */
  build(options?: KeyedAppOptions): Promise<FastifyInstance>;
}

/**
 * For each test: a fresh prefix, and as many apps on it as the test builds
 * (two apps on one prefix are two API processes sharing Redis). The hooks
 * close only what this test made.
 */
export function useKeyedApps(): KeyedApps {
  let t: TestRedis | undefined;
  let apps: FastifyInstance[] = [];

  beforeEach(async () => {
    apps = [];
    t = testRedis();
    // Connected before the first request: the rate limiter counts in memory while its connection is not ready.
    await t.redis.ping();
  });

  afterEach(async () => {
    const [own, ownRedis] = [apps, t];
    apps = [];
    t = undefined;
    try {
      await Promise.all(own.map((app) => app.close()));
    } finally {
      await ownRedis?.cleanup();
    }
  });

  const current = (): TestRedis => {
    if (!t) throw new Error("no test Redis: this test's beforeEach did not make one");
    return t;
  };

  return {
    get t() {
      return current();
    },
    async build({ apiKeys = [KEY_A, KEY_B], config = {}, model } = {}) {
      const redis = current();
      const app = await buildApp({
        config: { ...TEST_CONFIG, ...config, KEY_PREFIX: redis.prefix },
        redis: redis.redis,
        model: model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
        apiKeys,
      });
      apps.push(app);
      return app;
    },
  };
}
