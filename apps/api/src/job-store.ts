import {
  decodeJobRecord,
  ENQUEUE_JOB_LUA,
  type EnqueueOutcome,
  type JobRecord,
  type RedisKeys,
} from '@foretell/shared';
import { ReplyError, type Redis, type Result } from 'ioredis';
import { StoreUnavailableError } from './errors.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** enqueue-job.lua; the number of keys (2, or 3 with an idempotency key) comes first. */
    foretellEnqueueJob(numberOfKeys: number, ...keysAndArgs: string[]): Result<[EnqueueOutcome, string], Context>;
  }
}

export interface EnqueueRequest {
  readonly id: string;
  readonly input: string;
  /** With the fingerprint of the request it was sent with. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
}

export interface EnqueueResult {
  readonly outcome: EnqueueOutcome;
  /** The new id, or the one the idempotency key already names. */
  readonly id: string;
}

/** What the prediction service needs from Redis. */
export interface JobStore {
  /** Admits a job: hash (with its TTL), stream entry and idempotency record in one atomic step. */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult>;
  read(id: string): Promise<JobRecord | undefined>;
  /** Whether the consumer group exists; throws StoreUnavailableError when Redis does not answer. */
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

export interface JobStoreSettings {
  readonly resultTtlSeconds: number;
  /** Backlog (stream length) at which async submissions are refused; 0 for none. */
  readonly maxQueueLength: number;
}

export function createJobStore(redis: Redis, keys: RedisKeys, settings: JobStoreSettings): JobStore {
  redis.defineCommand('foretellEnqueueJob', { lua: ENQUEUE_JOB_LUA });
  return {
    enqueue: ({ id, input, idempotency }) =>
      guarded(async () => {
        const jobKeys = [keys.job(id), keys.jobs];
        if (idempotency) jobKeys.push(keys.idempotency(idempotency.key));
        const [outcome, existingOrNewId] = await redis.foretellEnqueueJob(
          jobKeys.length,
          ...jobKeys,
          id,
          input,
          String(Date.now()),
          String(settings.resultTtlSeconds),
          String(settings.maxQueueLength),
          idempotency?.fingerprint ?? '',
        );
        return { outcome, id: existingOrNewId };
      }),

    // Decoded outside `guarded`: a hash that does not match the schema is a bug (500), not an outage (503).
    read: async (id) => decodeJobRecord(await guarded(() => redis.hgetall(keys.job(id)))),

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
