import type { ConfigCheck } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from './errors.js';

/**
 * Resolves true once `replicas` replicas have acknowledged every write this
 * connection made before the call (Redis `WAIT`), false if fewer did within
 * the timeout. Throws StoreUnavailableError when Redis does not answer.
 */
export type ReplicaWait = () => Promise<boolean>;

/**
 * `WAIT` blocks the connection it is sent on, and the API shares one
 * connection between all requests: one `WAIT` per job would queue them, each
 * waiting out the timeout while a replica is down. So calls share `WAIT`s:
 * a call joins the next `WAIT` sent after it (one sent earlier might not
 * cover its write), and at most one is in flight, so a request waits at
 * most two timeouts and other commands at most one.
 */
export function createReplicaWait(redis: Redis, replicas: number, timeoutMs: number): ReplicaWait {
  let inFlight: Promise<number> | undefined;
  let queued: Promise<number> | undefined;

  const send = (): Promise<number> => {
    const sent = redis.wait(replicas, timeoutMs).finally(() => {
      inFlight = undefined;
    });
    inFlight = sent;
    return sent;
  };
  const next = (): Promise<number> => {
    // A queued WAIT is sent only after this call, so it covers this call's write.
    if (queued !== undefined) return queued;
    if (inFlight === undefined) return send();
    queued = inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return send();
      });
    return queued;
  };

  return async () => {
    try {
      return (await next()) >= replicas;
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };
}

/**
 * The API's connection times commands out after REDIS_TIMEOUT_MS, `WAIT`
 * included: a longer `WAIT` would always end as a timeout (503
 * REDIS_UNAVAILABLE) instead of a count.
 */
export const replicaWaitCheck: ConfigCheck<{
  REDIS_WAIT_REPLICAS: number;
  REDIS_WAIT_TIMEOUT_MS: number;
  REDIS_TIMEOUT_MS: number;
}> = ({ REDIS_WAIT_REPLICAS: replicas, REDIS_WAIT_TIMEOUT_MS: waitMs, REDIS_TIMEOUT_MS: redisMs }) =>
  replicas !== undefined && replicas > 0 && waitMs !== undefined && redisMs !== undefined && waitMs >= redisMs
    ? [
        `REDIS_WAIT_TIMEOUT_MS: must be less than REDIS_TIMEOUT_MS when REDIS_WAIT_REPLICAS is set (${redisMs}; got ${waitMs})`,
      ]
    : [];
