import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The API's Redis connection, tuned to fail fast: while Redis is away a
 * command is rejected at once (no offline queue) or after `timeoutMs`, so a
 * request gets 503 instead of hanging; reconnection goes on in the
 * background with capped backoff.
 */
export function createApiRedis(url: string, timeoutMs: number, log: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  redis.on('ready', () => log.info('redis connection ready'));
  return redis;
}
