import {
  CANCEL_JOB_LUA,
  type CancelOutcome,
  decodeCancelReply,
  decodeJobRecord,
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  type EnqueueOutcome,
  parseModelLabel,
  type JobRecord,
  type JobTrace,
  type JobWebhook,
  type ModelIdentity,
  type RedisKeys,
  tracedRedis,
  type Tracing,
} from '@foretell/shared';
import { ReplyError, type Redis, type Result } from 'ioredis';
import { classifyRedisFailure } from './redis-failure.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** enqueue-job.lua; the number of keys comes first (see enqueueJobArgs). */
    foretellEnqueueJob(numberOfKeys: number, ...keysAndArgs: string[]): Result<[EnqueueOutcome, string], Context>;
    /** cancel-job.lua (see decodeCancelReply). */
    foretellCancelJob(numberOfKeys: number, ...keysAndArgs: string[]): Result<unknown, Context>;
  }
}

export interface EnqueueRequest {
  readonly id: string;
  readonly input: string;
  /** With the fingerprint of the request it was sent with. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /**
   * The API key that submits it (its id) and that key's cap of jobs queued or
   * running (0: none): the job is stored as the owner's, its idempotency key
   * is the owner's own, and beyond the cap the outcome is 'owner-full'.
   */
  readonly owner?: { readonly id: string; readonly maxJobs: number };
  /** The request's id and traceparent, stored with the job until it finishes. */
  readonly trace?: JobTrace;
  /** Where the consumers POST the job, and for which events. */
  readonly webhook?: JobWebhook;
}

export interface EnqueueResult {
  readonly outcome: EnqueueOutcome;
  /** The new id, or the one the idempotency key already names. */
  readonly id: string;
}

/** What the prediction service needs from Redis. */
export interface JobStore {
  /** Admits a job: caps, hash (with its TTL), stream entry, counts and idempotency record in one atomic step. */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult>;
  read(id: string): Promise<JobRecord | undefined>;
  /**
   * Cancels a job that has no outcome yet (cancel-job.lua). With `ownerId`
   * (API keys on), another key's job is missing, as for `read`.
   */
  cancel(id: string, ownerId?: string): Promise<CancelOutcome>;
  /**
   * The model a finished job's `model` ref names, from the models registry;
   * undefined when the registry does not have it (deleted by hand). Refs are
   * derived from name and version, so a ref once seen is cached for good.
   */
  modelNamed(ref: string): Promise<ModelIdentity | undefined>;
  /** Whether the consumer group exists; throws StoreUnavailableError when Redis does not answer. */
  isGroupPresent(): Promise<boolean>;
  /** Whether the node this connection reaches is a primary (a replica refuses writes); throws StoreUnavailableError when Redis does not answer. */
  isPrimary(): Promise<boolean>;
}

function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}

/**
 * Connection errors, timeouts and transient replies become 503 (Retry-After),
 * a write refused at maxmemory 503 REDIS_FULL; any other error (a bad reply, a
 * bug) propagates as a 500. See redis-failure.ts.
 */
function classify(error: unknown): unknown {
  return classifyRedisFailure(error);
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
  /** Bytes of the inputs in the backlog beyond which async submissions are refused; 0 (or absent) for none. */
  readonly maxQueueBytes?: number;
  /** Webhook deliveries waiting at which submissions with a webhook are refused; 0 (or absent) for none. */
  readonly maxPendingWebhooks?: number;
  /**
   * On: each enqueue runs in a producer span, and the traceparent stored with
   * the job is that span's, not the client's, so that the consumer's span of
   * the job is in the request's trace.
   */
  readonly tracing?: Tracing;
}

// Models a process has met: a deployment serves a handful; cleared if some
// process ever wrote more (the registry is written by consumers, not clients).
const MAX_KNOWN_MODELS = 256;

export function createJobStore(redis: Redis, keys: RedisKeys, settings: JobStoreSettings): JobStore {
  redis.defineCommand('foretellEnqueueJob', { lua: ENQUEUE_JOB_LUA });
  redis.defineCommand('foretellCancelJob', { lua: CANCEL_JOB_LUA });
  const knownModels = new Map<string, ModelIdentity>();
  const { tracing } = settings;
  const enqueueJob = tracedRedis(tracing, 'EVALSHA', 'enqueue-job', redis.foretellEnqueueJob.bind(redis));
  const readJob = tracedRedis(tracing, 'HGETALL', undefined, (key: string) => redis.hgetall(key));
  const admit = ({ id, input, idempotency, owner, trace, webhook }: EnqueueRequest): Promise<EnqueueResult> =>
    guarded(async () => {
      const [outcome, existingOrNewId] = await enqueueJob(
        ...enqueueJobArgs(keys, {
          id,
          input,
          ttlSeconds: settings.resultTtlSeconds,
          maxQueueLength: settings.maxQueueLength,
          maxQueueBytes: settings.maxQueueBytes ?? 0,
          ...(idempotency && { idempotency }),
          ...(owner && { owner }),
          ...(trace && { trace }),
          ...(webhook && { webhook, maxPendingWebhooks: settings.maxPendingWebhooks ?? 0 }),
        }),
      );
      return { outcome, id: existingOrNewId };
    });
  return {
    enqueue: (request) =>
      tracing
        ? tracing.enqueue(keys.jobs, request.id, (traceparent) =>
            admit({ ...request, trace: { ...request.trace, traceparent } }),
          )
        : admit(request),

    // Decoded outside `guarded`: a hash that does not match the schema is a bug (500), not an outage (503).
    read: async (id) => decodeJobRecord(await guarded(() => readJob(keys.job(id)))),

    cancel: async (id, ownerId) => {
      const jobKeys = [keys.job(id), keys.retries, keys.webhooks];
      if (ownerId !== undefined) jobKeys.push(keys.ownerJobs(ownerId));
      const args = [id, String(settings.resultTtlSeconds), keys.done, keys.canceled, ownerId ?? ''];
      const reply: unknown = await guarded(() => redis.foretellCancelJob(jobKeys.length, ...jobKeys, ...args));
      return decodeCancelReply(reply);
    },

    async modelNamed(ref) {
      const known = knownModels.get(ref);
      if (known !== undefined) return known;
      const label = await guarded(() => redis.hget(keys.models, ref));
      const identity = label === null ? undefined : parseModelLabel(label);
      if (identity === undefined) return undefined;
      if (knownModels.size >= MAX_KNOWN_MODELS) knownModels.clear();
      knownModels.set(ref, identity);
      return identity;
    },

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

    // ROLE is O(1) and answers on replicas too: its first element is the node's role.
    isPrimary: () => guarded(async () => ((await redis.call('ROLE')) as unknown[])[0] === 'master'),
  };
}
