import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/** One window of `RATE_LIMIT_PER_MINUTE`. */
const WINDOW_SECONDS = 60;

export interface KeyRateLimit {
  /** Counts one request of the key; throws AppError RATE_LIMITED (429 with Retry-After) past the limit. */
  consume(keyId: string): Promise<void>;
}

/**
 * Requests per key and minute, counted in Redis so that every API process
 * shares one count (rate-limiter-flexible's atomic INCR-with-TTL script; a
 * fixed window that starts with the key's first request).
 *
 * Two choices bound what an abusive key costs and what an outage breaks:
 * once a key is over its limit, this process refuses it from memory until
 * the window ends (no Redis round trip per refused request); and while Redis
 * does not answer, each process counts on its own (the insurance limiter), so
 * synchronous predictions, which need no Redis, stay limited and served.
 */
export function createKeyRateLimit(redis: Redis, counterPrefix: string, perMinute: number): KeyRateLimit {
  // Imported here, as the limit is set up: an API without rate limits never
  // loads the module (a chunk of its own in the API's bundle). Its CommonJS
  // exports are taken from `default`, its module.exports: the bundle's chunk
  // exports nothing else, where Node's own import also names each export.
  const loaded = import('rate-limiter-flexible').then(
    ({ default: { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } }) => ({
      RateLimiterRes,
      limiter: new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: counterPrefix,
        points: perMinute,
        duration: WINDOW_SECONDS,
        inMemoryBlockOnConsumed: perMinute + 1,
        // Not connected: straight to the insurance limiter instead of an error per request.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ points: perMinute, duration: WINDOW_SECONDS }),
      }),
    }),
  );
  // A failed import is reported by each consume(), not as an unhandled rejection meanwhile.
  loaded.catch(() => undefined);

  return {
    async consume(keyId) {
      const { limiter, RateLimiterRes } = await loaded;
      try {
        await limiter.consume(keyId);
      } catch (refusal) {
        // Anything but a RateLimiterRes is a failure of both limiters: a bug, not the client's fault.
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        throw new AppError('RATE_LIMITED', undefined, {
          retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)),
        });
      }
    },
  };
}
