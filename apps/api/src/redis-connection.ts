import { createRedisConnection, type RedisConnectionConfig } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** The sentinel settings, when the API finds Redis through sentinels. */
export type ApiRedisSentinels = Omit<RedisConnectionConfig, 'REDIS_URL'>;

/**
 * The API's Redis connection, tuned to fail fast: while Redis is away a
 * command is rejected at once (no offline queue) or after `timeoutMs`, so a
 * request gets 503 instead of hanging; reconnection goes on in the
 * background with capped backoff. A `READONLY` reply (the node was demoted)
 * is a 503 too, and makes it reconnect to the primary (through the
 * sentinels when given).
 */
export function createApiRedis(url: string, timeoutMs: number, log: Logger, sentinels: ApiRedisSentinels = {}): Redis {
  const redis = createRedisConnection(
    { ...sentinels, REDIS_URL: url },
    {
      enableOfflineQueue: false,
      commandTimeout: timeoutMs,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    },
    log,
  );
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  redis.on('ready', () => log.info('redis connection ready'));
  return redis;
}
