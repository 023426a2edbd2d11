import { decodeJobRecord, encodeJobMessage, newJobFields, type JobRecord, type RedisKeys } from '@foretell/shared';
import { ReplyError, type Redis } from 'ioredis';
import { StoreUnavailableError } from './errors.js';

/** What the prediction service needs from Redis. */
export interface JobStore {
  /** Writes the job hash (with its TTL) and the stream entry in one transaction. */
  enqueue(id: string, input: string): Promise<void>;
  read(id: string): Promise<JobRecord | undefined>;
  /** Throws StoreUnavailableError unless Redis answers and the consumer group exists. */
  isGroupPresent(): Promise<boolean>;
}

// Replies that mean "Redis cannot serve right now", not "foretell sent a bad command".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

/**
 * Connection errors, timeouts and transient replies become
 * StoreUnavailableError (503 with Retry-After); any other reply error is a
 * bug and propagates as a 500.
 */
function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}

function classify(error: unknown): unknown {
  if (isReplyError(error) && !TRANSIENT_REPLY.test(error.message)) return error;
  return new StoreUnavailableError(error);
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw classify(error);
  }
}

/** `exec()` reports per-command errors in its result instead of throwing. */
function throwOnExecErrors(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [error] of results) if (error) throw error;
}

export function createJobStore(redis: Redis, keys: RedisKeys, resultTtlSeconds: number): JobStore {
  return {
    enqueue: (id, input) =>
      guarded(async () => {
        const key = keys.job(id);
        const results = await redis
          .multi()
          .hset(key, newJobFields(input, Date.now()))
          .expire(key, resultTtlSeconds)
          .xadd(keys.jobs, '*', ...encodeJobMessage({ id, input }))
          .exec();
        throwOnExecErrors(results);
      }),

    read: (id) => guarded(async () => decodeJobRecord(await redis.hgetall(keys.job(id)))),

    isGroupPresent: () =>
      guarded(async () => {
        try {
          const groups = (await redis.xinfo('GROUPS', keys.jobs)) as unknown[][];
          return groups.some((group) => group[1] === keys.group);
        } catch (error) {
          // XINFO on a stream that does not exist yet: no group either.
          if (isReplyError(error) && /no such key/i.test(error.message)) return false;
          throw error;
        }
      }),
  };
}
