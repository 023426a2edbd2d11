// The end-to-end files that start the built api and consumer on the run's
// redis-server: each test gets a fresh key prefix and a connection; after it,
// its processes are killed and its keys deleted.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, inject } from 'vitest';
import { startApp, type AppProcess } from './app-process.js';

export interface AppsOnPrefix {
  /** This test's key prefix. */
  readonly prefix: string;
  /** A connection to the run's Redis, for this test. */
  readonly redis: Redis;
  /** Starts a built app on the run's Redis under this test's prefix. */
  start(app: 'api' | 'consumer', env: Record<string, string>): AppProcess;
}

/** Registers the hooks; the returned object reads the current test's prefix and connection. */
export function useAppsOnPrefix(name: string): AppsOnPrefix {
  let prefix: string | undefined;
  let redis: Redis | undefined;
  const started: AppProcess[] = [];

  beforeEach(() => {
    prefix = `${name}-${randomUUID().slice(0, 8)}`;
    redis = new Redis(inject('redisUrl'));
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((app) => app.kill()));
    const own = redis;
    redis = undefined;
    if (!own) return;
    const keys = await own.keys(`${prefix ?? name}:*`);
    if (keys.length > 0) await own.del(...keys);
    await own.quit();
  });

  return {
    get prefix() {
      if (prefix === undefined) throw new Error('no prefix: beforeEach did not run');
      return prefix;
    },
    get redis() {
      if (redis === undefined) throw new Error('no redis: beforeEach did not run');
      return redis;
    },
    start(app, env) {
      const process = startApp(app, { REDIS_URL: inject('redisUrl'), KEY_PREFIX: this.prefix, ...env });
      started.push(process);
      return process;
    },
  };
}
