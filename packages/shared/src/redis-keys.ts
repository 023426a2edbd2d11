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
  /** Sorted set of job ids waiting to be retried, scored by the Unix ms they are due. */
  readonly retries: string;
  /** Hash holding one job's state and result. */
  job(id: string): string;
  /** What `job(id)` puts before the id; Lua scripts that find jobs by id get it as an argument. */
  readonly jobPrefix: string;
  /** String mapping an idempotency key to a prediction id. */
  idempotency(key: string): string;
}

export const DEFAULT_KEY_PREFIX = 'foretell';

export function redisKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisKeys {
  return Object.freeze({
    jobs: `${prefix}:jobs`,
    group: `${prefix}:workers`,
    dead: `${prefix}:dead`,
    done: `${prefix}:done`,
    retries: `${prefix}:retries`,
    job: (id: string) => `${prefix}:job:${id}`,
    jobPrefix: `${prefix}:job:`,
    idempotency: (key: string) => `${prefix}:idem:${key}`,
  });
}
