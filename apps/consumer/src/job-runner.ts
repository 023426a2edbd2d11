import {
  decodeJobMessage,
  FINISH_JOB_ALREADY_FINISHED,
  FINISH_JOB_MISSING,
  isRetryable,
  START_JOB_ALREADY_FINISHED,
  START_JOB_MISSING,
  type Model,
  type RedisKeys,
} from '@foretell/shared';
import { createCallBatcher } from './call-batcher.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';

export interface ConsumerStats {
  succeeded: number;
  /** Jobs that failed for good (and went to the dead-letter stream). */
  failed: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  /** Entries taken over from a consumer that stopped answering. */
  reclaimed: number;
  /** Entries whose job hash had expired before a consumer reached them. */
  expired: number;
  /** Redeliveries of jobs whose outcome was already stored. */
  duplicates: number;
  /** Entries that did not parse, moved to the dead-letter stream. */
  poison: number;
}

export function emptyStats(): ConsumerStats {
  return { succeeded: 0, failed: 0, retried: 0, reclaimed: 0, expired: 0, duplicates: 0, poison: 0 };
}

export interface JobRunnerDeps {
  readonly redis: Redis;
  readonly model: Model;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly stats: ConsumerStats;
  readonly retry: RetryPolicy;
  readonly resultTtlSeconds: number;
  /** Aborted when the shutdown grace period is over: the job is left pending. */
  readonly hardStop: AbortSignal;
}

// Jobs per start-jobs / finish-jobs call: bounds a script's run time and its argument count.
const MAX_BATCH = 1000;

interface Outcome {
  readonly entryId: string;
  readonly id: string;
  readonly outcome: 'succeeded' | 'failed';
  readonly value: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one stream entry to its end: dead-letters it if it does not parse,
 * runs the model, then stores the result, schedules a retry, or fails the job
 * for good. Every write that releases the entry is one atomic script, so the
 * entry is acked only once its outcome is stored. Starts and finishes of jobs
 * in the same tick share one script call.
 */
export function createJobRunner(deps: JobRunnerDeps): (entryId: string, fields: string[]) => Promise<void> {
  const { redis, model, keys, log, stats, retry } = deps;
  // One controller per running job, all aborted with hardStop. Handing every
  // job hardStop itself would hang thousands of listeners on one signal, and
  // Node scans a signal's listener list on every add (quadratic in jobs held).
  const running = new Set<AbortController>();
  deps.hardStop.addEventListener('abort', () => {
    for (const controller of running) controller.abort(deps.hardStop.reason);
  });

  async function deadLetterPoison(entryId: string, fields: string[], reason: string): Promise<void> {
    await redis
      .multi()
      .xadd(keys.dead, '*', 'entry', entryId, 'reason', reason, 'fields', JSON.stringify(fields))
      .xack(keys.jobs, keys.group, entryId)
      .xdel(keys.jobs, entryId)
      .exec();
    stats.poison += 1;
    log.warn({ entryId, reason }, 'poison entry dead-lettered');
  }

  const startJob = createCallBatcher<string, number>(
    (jobKeys) => redis.foretellStartJobs(jobKeys.length, ...jobKeys, String(Date.now())),
    MAX_BATCH,
  );

  const finishJob = createCallBatcher<Outcome, number>((outcomes) => {
    const jobKeys = outcomes.map(({ id }) => keys.job(id));
    const perJob = outcomes.flatMap(({ entryId, id, outcome, value }) => [entryId, id, outcome, value]);
    return redis.foretellFinishJobs(
      2 + jobKeys.length,
      keys.jobs,
      keys.dead,
      ...jobKeys,
      keys.group,
      String(Date.now()),
      String(deps.resultTtlSeconds),
      keys.done,
      ...perJob,
    );
  }, MAX_BATCH);

  /** Stores the outcome (unless one is stored already) and acks the entry; counts what happened. */
  async function finish(entryId: string, id: string, outcome: 'succeeded' | 'failed', value: string): Promise<void> {
    const written = await finishJob({ entryId, id, outcome, value });
    if (written === FINISH_JOB_ALREADY_FINISHED) stats.duplicates += 1;
    else if (written === FINISH_JOB_MISSING) {
      stats.expired += 1;
      log.warn({ jobId: id, entryId }, 'job hash expired before it ran; entry dropped');
    } else stats[outcome] += 1;
  }

  async function scheduleRetry(entryId: string, id: string, attempt: number, reason: string): Promise<void> {
    const delayMs = retryDelayMs(attempt, retry);
    const scheduled = await redis.foretellRetryJob(
      keys.job(id),
      keys.jobs,
      keys.retries,
      keys.group,
      entryId,
      id,
      reason,
      String(Date.now() + delayMs),
    );
    if (scheduled === 1) {
      stats.retried += 1;
      log.info({ jobId: id, attempt, delayMs, reason }, 'attempt failed; retry scheduled');
    }
  }

  return async function runJob(entryId, fields) {
    const decoded = decodeJobMessage(fields);
    if (!decoded.ok) return deadLetterPoison(entryId, fields, decoded.reason);
    const { id, input } = decoded.message;

    const attempt = await startJob(keys.job(id));
    // Gone or done: finish only releases the entry (and counts why).
    if (attempt === START_JOB_MISSING || attempt === START_JOB_ALREADY_FINISHED) {
      return finish(entryId, id, 'succeeded', '');
    }
    // Only reclaims after crashes can get here: a job that keeps killing its consumers.
    if (attempt > retry.maxAttempts) {
      return finish(entryId, id, 'failed', `gave up after ${retry.maxAttempts} attempts: its consumers stopped`);
    }

    const startedAt = Date.now();
    let result: unknown;
    const cancel = new AbortController();
    running.add(cancel);
    try {
      result = await model.predict(input, { signal: cancel.signal });
      if (typeof result !== 'string') throw new TypeError(`the model returned a ${typeof result}, not a string`);
    } catch (error) {
      if (deps.hardStop.aborted) {
        log.warn({ jobId: id, entryId }, 'shutdown grace period over; job left pending for another consumer');
        return;
      }
      const reason = messageOf(error);
      if (isRetryable(error) && attempt < retry.maxAttempts) return scheduleRetry(entryId, id, attempt, reason);
      log.warn({ jobId: id, attempt, err: error }, 'job failed for good');
      return finish(entryId, id, 'failed', reason);
    } finally {
      running.delete(cancel);
    }
    await finish(entryId, id, 'succeeded', result);
    // The finished hash keeps no creation or start time: timings live here. The
    // entry id's first part is when it was added to the stream.
    if (log.isLevelEnabled('debug')) {
      const queuedMs = startedAt - Number(entryId.split('-')[0]);
      log.debug({ jobId: id, attempt, queuedMs, runMs: Date.now() - startedAt }, 'job succeeded');
    }
  };
}
