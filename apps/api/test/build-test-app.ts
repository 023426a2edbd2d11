import { createMockModel, type Model } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { injectClient, type PredictClient } from '../../../test/support/predict-client.js';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildApp, buildAppWithNotifier, type AppDeps } from '../src/app.js';
import { createApiRedis } from '../src/redis-connection.js';
import type { JobNotifier } from '../src/waiting/job-notifier.js';

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
  logger?: AppDeps['logger'];
  isModelLoaded?: AppDeps['isModelLoaded'];
}

/** The real app on a test prefix, with the mock model at latency 0 unless another model is given. */
export function buildTestApp(redis: Redis, prefix: string, options: TestAppOptions = {}): Promise<FastifyInstance> {
  return buildApp({
    config: { ...TEST_CONFIG, ...options.config, KEY_PREFIX: prefix },
    redis,
    model: options.model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    ...(options.logger && { logger: options.logger }),
    ...(options.isModelLoaded && { isModelLoaded: options.isModelLoaded }),
  });
}

export interface TestAppContext {
  /** The run's Redis under this test's own prefix. */
  readonly t: TestRedis;
  readonly app: FastifyInstance;
  /** The /predict client over `app.inject`, for the current app. */
  readonly client: PredictClient;
  /** Replaces the app with one built with other options (closing the first). */
  rebuild(options: TestAppOptions): Promise<FastifyInstance>;
}

/**
 * A fresh app on a fresh prefix for each test of the file, closed and cleaned
 * after it. What a test's hooks dispose is only what its own beforeEach made:
 * when that failed half-way, nothing of a previous test is touched again.
 */
export function useTestApp(): TestAppContext {
  let t: TestRedis | undefined;
  let app: FastifyInstance | undefined;

  beforeEach(async () => {
    t = undefined;
    app = undefined;
    const redis = testRedis();
    t = redis;
    try {
      app = await buildTestApp(redis.redis, redis.prefix);
    } catch (error) {
      t = undefined;
      await redis.cleanup().catch(() => undefined);
      throw error;
    }
  });

  afterEach(async () => {
    const [ownApp, ownRedis] = [app, t];
    app = undefined;
    t = undefined;
    try {
      await ownApp?.close();
    } finally {
      await ownRedis?.cleanup();
    }
  });

  const current = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what}: this test's beforeEach did not make one`);
    return value;
  };

  return {
    get t() {
      return current(t, 'test Redis');
    },
    get app() {
      return current(app, 'app');
    },
    get client() {
      return injectClient(current(app, 'app'));
    },
    async rebuild(options) {
      const redis = current(t, 'test Redis');
      const previous = current(app, 'app');
      // Not closed twice by afterEach if building the new one throws.
      app = undefined;
      await previous.close();
      app = await buildTestApp(redis.redis, redis.prefix, options);
      return app;
    },
  };
}

export interface AppOnOwnRedis {
  readonly server: RedisServer;
  readonly redis: Redis;
  readonly app: FastifyInstance;
  /** The app's long-poll notifier, to see when a wait is registered. */
  readonly notifier: JobNotifier;
  readonly client: PredictClient;
  /** Closes the app and the connection, then stops the server. */
  dispose(): Promise<void>;
}

/**
 * The app on a redis-server of its own (for tests that stop, pause, restart or
 * fill it), through the API's real fail-fast connection.
 */
export async function startAppOnOwnRedis(prefix: string, redisTimeoutMs: number): Promise<AppOnOwnRedis> {
  const server = await startRedisServer();
  const redis = createApiRedis(server.url, redisTimeoutMs, pino({ level: 'silent' }));
  const dispose = async () => {
    redis.disconnect();
    await server.dispose();
  };
  try {
    await waitFor(() => redis.status === 'ready', { what: 'redis ready' });
    const { app, notifier } = await buildAppWithNotifier({
      config: { ...TEST_CONFIG, KEY_PREFIX: prefix },
      redis,
      model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    });
    return {
      server,
      redis,
      app,
      notifier,
      client: injectClient(app),
      dispose: async () => {
        await app.close();
        await dispose();
      },
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
