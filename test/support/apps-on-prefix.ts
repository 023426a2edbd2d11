// The end-to-end files that start the built api and consumer on the run's
// redis-server: each test gets a fresh key prefix and a connection; after it,
// its processes are killed, its cleanups run and its keys are deleted.
import { randomUUID } from 'node:crypto';
import { redisKeys, type RedisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, inject } from 'vitest';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { startApp, waitForApi, waitForLog, type AppProcess } from './app-process.js';
import { fetchClient, type PredictClient } from './predict-client.js';
import { freePort } from './redis-server.js';

export interface StartedApi {
  readonly api: AppProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  readonly client: PredictClient;
}

export interface StartApiOptions {
  /** The client's deadline for one request (default 10 s; a long-poll test holds requests longer). */
  readonly clientTimeoutMs?: number;
}

export interface AppsOnPrefix {
  /** This test's key prefix. */
  readonly prefix: string;
  /** The key layout under this test's prefix. */
  readonly keys: RedisKeys;
  /** A connection to the run's Redis, for this test. */
  readonly redis: Redis;
  /**
   * With `gated: true`, the model every started process serves: each call is
   * held until the test releases it, so the order of events is the test's own.
   */
  readonly gate: ModelGate;
  /** Starts a built app on the run's Redis under this test's prefix. */
  readonly start: (app: 'api' | 'consumer', env?: Record<string, string>) => AppProcess;
  /** Starts the API on a free loopback port; resolves once it answers /health. */
  readonly startApi: (env?: Record<string, string>, options?: StartApiOptions) => Promise<StartedApi>;
  /** Starts a consumer; resolves once it has joined its group. */
  readonly startConsumer: (env?: Record<string, string>) => Promise<AppProcess>;
  /** Runs after the test's processes are killed, last registered first. */
  readonly onCleanup: (cleanup: () => Promise<void> | void) => void;
}

export interface AppsOnPrefixOptions {
  /** Every started process serves the gated model (e2e-gated-model.mjs). */
  readonly gated?: boolean;
}

/** Registers the hooks; the returned object reads the current test's prefix and connection. */
export function useAppsOnPrefix(name: string, { gated = false }: AppsOnPrefixOptions = {}): AppsOnPrefix {
  let current: { prefix: string; keys: RedisKeys; redis: Redis; gate: ModelGate } | undefined;
  const started: AppProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(() => {
    const prefix = `${name}-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(inject('redisUrl'));
    current = { prefix, keys: redisKeys(prefix), redis, gate: modelGate(redis, prefix, inject('redisUrl')) };
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((app) => app.kill()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const own = current;
    current = undefined;
    if (!own) return;
    const keys = await own.redis.keys(`${own.prefix}:*`);
    if (keys.length > 0) await own.redis.del(...keys);
    await own.redis.quit();
  });

  const now = () => {
    if (current === undefined) throw new Error(`${name}: no test is running (beforeEach did not run)`);
    return current;
  };

  const start = (app: 'api' | 'consumer', env: Record<string, string> = {}): AppProcess => {
    const { prefix, gate } = now();
    const gateEnv = gated ? gate.env : {};
    const process = startApp(app, { REDIS_URL: inject('redisUrl'), KEY_PREFIX: prefix, ...gateEnv, ...env });
    started.push(process);
    return process;
  };

  return {
    get prefix() {
      return now().prefix;
    },
    get keys() {
      return now().keys;
    },
    get redis() {
      return now().redis;
    },
    get gate() {
      if (!gated) throw new Error(`${name}: no gate; pass { gated: true } to useAppsOnPrefix`);
      return now().gate;
    },
    start,
    startApi: async (env = {}, { clientTimeoutMs }: StartApiOptions = {}) => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const api = start('api', { PORT: String(port), HOST: '127.0.0.1', ...env });
      await waitForApi(base, '/health', api.assertRunning);
      return { api, port, base, client: fetchClient(base, clientTimeoutMs) };
    },
    startConsumer: async (env = {}) => {
      const consumer = start('consumer', env);
      await waitForLog(consumer, 'consumer started');
      return consumer;
    },
    onCleanup: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
}
