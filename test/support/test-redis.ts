import { randomUUID } from 'node:crypto';
import { redisKeys, type RedisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the run's redis-server, from global-setup.ts. */
    redisUrl: string;
  }
}

export interface TestRedis {
  readonly url: string;
  readonly redis: Redis;
  readonly prefix: string;
  readonly keys: RedisKeys;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

/** A connection to the run's redis-server and a prefix no other test uses (or the one given, to share it). */
export function testRedis(prefix = `t-${randomUUID().slice(0, 8)}`): TestRedis {
  const url = inject('redisUrl');
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  return {
    url,
    redis,
    prefix,
    keys: redisKeys(prefix),
    async cleanup() {
      const found = await redis.keys(`${prefix}:*`);
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
    },
  };
}
