/**
 * Every Redis name foretell uses, built from one prefix. Nothing else in the
 * codebase spells a key: tests isolate themselves by choosing a fresh prefix,
 * and operators find everything of one deployment under `{prefix}:*`.
 */
export interface RedisKeys {
  /** Stream of jobs waiting or in flight; acked entries are deleted, so XLEN is the backlog. */
  readonly jobs: string;
  /** Consumer group on `jobs`. */
  readonly group: string;
  /** Stream of jobs that failed for good or could not be parsed. */
  readonly dead: string;
  /** Pub/sub channel carrying the id of each finished job. */
  readonly done: string;
  /**
   * Pub/sub channel carrying the id of each job a consumer starts (each
   * attempt): the API's live events (`GET /predict/{id}/events`) learn of
   * `processing` from it without polling.
   */
  readonly started: string;
  /**
   * Pub/sub channel carrying the id of each job canceled while it was
   * running: the consumer running it aborts its model call.
   */
  readonly canceled: string;
  /**
   * Sorted set of webhook deliveries to make: member a delivery's JSON
   * (webhook-delivery.ts), score the Unix ms it is due, or, while a consumer
   * is sending it, when its lease ends (then another consumer takes it).
   * Added to by the scripts that start, finish and cancel jobs.
   */
  readonly webhooks: string;
  /** Stream of webhook deliveries that failed for good (capped, approximate trimming). */
  readonly webhookFailures: string;
  /** Sorted set of job ids waiting to be retried, scored by the Unix ms they are due. */
  readonly retries: string;
  /** Hash holding one job's state and result. */
  job(id: string): string;
  /** What `job(id)` puts before the id; Lua scripts that find jobs by id get it as an argument. */
  readonly jobPrefix: string;
  /**
   * String mapping an idempotency key to a prediction id and the request's
   * fingerprint. With an owner (API keys on) the key is that owner's own:
   * two API keys may use the same Idempotency-Key without meeting.
   */
  idempotency(key: string, ownerId?: string): string;
  /**
   * String: the bytes of the `input` of every entry in `jobs` (what
   * MAX_QUEUE_BYTES caps). Only the scripts that XADD to or XDEL from `jobs`
   * change it; absent means 0.
   */
  readonly backlogBytes: string;
  /**
   * Sorted set of one owner's (API key's) jobs queued or running, scored by
   * the Unix ms their hash's TTL counts from: a member older than the TTL
   * names an expired hash and is pruned. Only kept while the owner has a cap
   * (MAX_JOBS_PER_KEY); expires with its last member.
   */
  ownerJobs(ownerId: string): string;
  /**
   * Prefix of the per-API-key request counters (rate-limiter-flexible appends
   * `:{keyId}`): strings of a count with a TTL of one window.
   */
  readonly rateLimits: string;
  /**
   * Hash naming the models that finished jobs: field a model's ref (8 hex
   * digits, `modelRef()`), value "name version". A finished job's `model`
   * field holds the ref. One field per model ever served; never expires.
   */
  readonly models: string;
  /**
   * Hash of the consumers' cumulative counts for the dashboard: field a
   * consumer's name, value its snapshot (consumer-stats.ts), rewritten every
   * few seconds. A field not rewritten for `STATS_STALE_MS` is dropped by
   * the API that reads it.
   */
  readonly stats: string;
}

export const DEFAULT_KEY_PREFIX = 'foretell';

export function redisKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisKeys {
  return Object.freeze({
    jobs: `${prefix}:jobs`,
    group: `${prefix}:workers`,
    dead: `${prefix}:dead`,
    done: `${prefix}:done`,
    started: `${prefix}:started`,
    canceled: `${prefix}:canceled`,
    webhooks: `${prefix}:webhooks`,
    webhookFailures: `${prefix}:webhook-failures`,
    retries: `${prefix}:retries`,
    job: (id: string) => `${prefix}:job:${id}`,
    jobPrefix: `${prefix}:job:`,
    // Per owner under `{prefix}:owner:{id}:`, apart from the unscoped keys: an
    // unscoped key can never be mistaken for a scoped one, whatever its text.
    idempotency: (key: string, ownerId?: string) =>
      ownerId === undefined ? `${prefix}:idem:${key}` : `${prefix}:owner:${ownerId}:idem:${key}`,
    backlogBytes: `${prefix}:backlog-bytes`,
    ownerJobs: (ownerId: string) => `${prefix}:owner:${ownerId}:jobs`,
    rateLimits: `${prefix}:rate`,
    models: `${prefix}:models`,
    stats: `${prefix}:stats`,
  });
}
