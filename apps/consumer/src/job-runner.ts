import {
  identityOf,
  modelLabel,
  modelRef,
  FINISH_JOB_ALREADY_FINISHED,
  FINISH_JOB_MISSING,
  FINISH_JOB_WRITTEN,
  isRetryable,
  LazyAbort,
  MODEL_FAILURE_REASON,
  START_JOB_ALREADY_FINISHED,
  START_JOB_ATTEMPTS_SPENT,
  START_JOB_MISSING,
  type DecodedJobMessage,
  type JobMessage,
  type Model,
  type RedisKeys,
  tracedRedis,
  type Tracing,
} from '@foretell/shared';
import { createCallBatcher } from './call-batcher.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ScriptKeys } from './job-scripts.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { JobCanceledError, type RunningJobs } from './running-jobs.js';

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
  /** Jobs canceled while this consumer ran them: their model call aborted, their entry released. */
  canceled: number;
}

export function emptyStats(): ConsumerStats {
  return { succeeded: 0, failed: 0, retried: 0, reclaimed: 0, expired: 0, duplicates: 0, poison: 0, canceled: 0 };
}

export interface JobRunnerDeps {
  readonly redis: Redis;
  readonly model: Model;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly stats: ConsumerStats;
  readonly retry: RetryPolicy;
  readonly resultTtlSeconds: number;
  /** Cap of the dead-letter stream (approximate trimming). */
  readonly deadLetterMaxLength: number;
  /** Aborted when the shutdown grace period is over: the job is left pending. */
  readonly hardStop: AbortSignal;
  /** The jobs in hand with their model calls' controllers: where cancels (cancel-listener.ts) find them. */
  readonly running: RunningJobs;
  /** On: each job's script calls in spans, and its span marked with how the attempt ended. */
  readonly tracing?: Tracing;
}

/** Runs one stream entry (already decoded) to its end; never called twice at once for one entry. */
export type JobRunner = (entryId: string, fields: string[], decoded: DecodedJobMessage) => Promise<void>;

// Jobs per start-jobs / finish-jobs call: bounds a script's run time and its argument count.
const MAX_BATCH = 1000;

/** What every log line about a job carries: its id, and the request's id and traceparent when its entry has them. */
export function jobLogFields({ id, rid, tp }: JobMessage): JobRef['said'] {
  return { jobId: id, ...(rid !== undefined && { requestId: rid }), ...(tp !== undefined && { traceparent: tp }) };
}

/** The job a stream entry names. */
interface JobRef {
  readonly entryId: string;
  readonly id: string;
  readonly owner: string | undefined;
  /** The entry marks a webhook: the start and finish scripts read its fields for this job only. */
  readonly webhook: boolean;
  /** Of the entry's input, in UTF-8: what the backlog byte count gets back when the entry is released. */
  readonly bytes: number;
  /**
   * What every log line about the job carries: its id, and the id and
   * traceparent of the request that queued it, when the entry has them.
   */
  readonly said: { readonly jobId: string; readonly requestId?: string; readonly traceparent?: string };
}

interface Outcome {
  readonly job: JobRef;
  readonly outcome: 'succeeded' | 'failed' | 'release';
  /** The result, or the reason the client reads. */
  readonly value: string;
  /** For a failure: the reason kept in the dead-letter stream (the model's own message). */
  readonly detail: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a client reads of a failure: the model's own message only when the
 * model marked the error as meant for them (not retryable); any other
 * message may carry internals, and stays in the logs and the dead letter.
 */
function clientReason(error: unknown, detail: string): string {
  return isRetryable(error) || detail === '' ? MODEL_FAILURE_REASON : detail;
}

/**
 * Runs one stream entry to its end: dead-letters it if it does not parse,
 * runs the model, then stores the result, schedules a retry, or fails the job
 * for good. Every write that releases the entry is one atomic script, so the
 * entry is acked only once its outcome is stored. Starts and finishes of jobs
 * in the same tick share one script call.
 */
export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { redis, model, keys, log, stats, retry, running } = deps;
  const ttl = String(deps.resultTtlSeconds);
  const ownerKey = (owner: string | undefined) => (owner === undefined ? undefined : keys.ownerJobs(owner));
  deps.hardStop.addEventListener('abort', () => running.abortAll(deps.hardStop.reason));

  async function deadLetterPoison(entryId: string, fields: string[], reason: string): Promise<void> {
    const inputAt = fields.findIndex((field, i) => i % 2 === 0 && field === 'input');
    const input = inputAt < 0 ? '' : (fields[inputAt + 1] ?? '');
    await redis.foretellDeadLetterEntry(
      3,
      keys.jobs,
      keys.dead,
      keys.backlogBytes,
      keys.group,
      entryId,
      reason,
      JSON.stringify(fields),
      String(deps.deadLetterMaxLength),
      String(Buffer.byteLength(input, 'utf8')),
    );
    stats.poison += 1;
    log.warn({ entryId, reason }, 'poison entry dead-lettered');
  }

  // One key and no argument per job; jobs with an owner or a webhook add three arguments for each.
  const startJobs = createCallBatcher<JobRef, number>((jobs) => {
    const hashes = jobs.map(({ id }) => keys.job(id));
    const owners = new ScriptKeys([...hashes, keys.webhooks]);
    const extras: string[] = [];
    jobs.forEach(({ owner, webhook }, i) => {
      if (owner !== undefined) extras.push(String(i + 1), 'owner', owners.indexOf(keys.ownerJobs(owner)));
      if (webhook) extras.push(String(i + 1), 'webhook', '');
    });
    return redis.foretellStartJobs(
      owners.keys.length,
      ...owners.keys,
      ttl,
      String(retry.maxAttempts),
      keys.jobPrefix,
      String(jobs.length),
      keys.started,
      ...extras,
    );
  }, MAX_BATCH);
  // Traced per job: a job's span of it is the job's wait for the batch call it is part of.
  const startJob = tracedRedis(deps.tracing, 'EVALSHA', 'start-jobs', startJobs);

  // Every finished job names the model that ran it (model-identity.ts); a model without a name, none.
  const identity = identityOf(model);
  const [ref, label] = identity ? [modelRef(identity), modelLabel(identity)] : ['', ''];

  // One key and four arguments per job; failures and jobs with an owner or a webhook add three arguments each.
  const finishJobs = createCallBatcher<Outcome, number>((outcomes) => {
    const scriptKeys = new ScriptKeys([keys.jobs, keys.dead, keys.backlogBytes, keys.models, keys.webhooks]);
    for (const { job } of outcomes) scriptKeys.keys.push(keys.job(job.id));
    const perJob: string[] = [];
    const extras: string[] = [];
    outcomes.forEach(({ job, outcome, value, detail }, i) => {
      perJob.push(job.entryId, outcome, value, String(job.bytes));
      if (outcome === 'failed' && detail !== value) extras.push(String(i + 1), 'detail', detail);
      if (job.owner !== undefined) extras.push(String(i + 1), 'owner', scriptKeys.indexOf(keys.ownerJobs(job.owner)));
      if (job.webhook && outcome !== 'release') extras.push(String(i + 1), 'webhook', '');
    });
    return redis.foretellFinishJobs(
      scriptKeys.keys.length,
      ...scriptKeys.keys,
      keys.group,
      ttl,
      keys.done,
      String(deps.deadLetterMaxLength),
      keys.jobPrefix,
      String(outcomes.length),
      ref,
      label,
      ...perJob,
      ...extras,
    );
  }, MAX_BATCH);
  const finishJob = tracedRedis(deps.tracing, 'EVALSHA', 'finish-jobs', finishJobs);
  const retryJob = tracedRedis(deps.tracing, 'EVALSHA', 'retry-job', redis.foretellRetryJob.bind(redis));

  /** Stores the outcome (unless one is stored already) and acks the entry; counts what happened. */
  async function finish(job: JobRef, outcome: 'succeeded' | 'failed', value: string, detail: string): Promise<void> {
    deps.tracing?.jobEnded(outcome, detail);
    const written = await finishJob({ job, outcome, value, detail });
    if (written === FINISH_JOB_WRITTEN) stats[outcome] += 1;
    else if (written === FINISH_JOB_ALREADY_FINISHED) stats.duplicates += 1;
    else if (written === FINISH_JOB_MISSING) {
      stats.expired += 1;
      log.warn({ ...job.said, entryId: job.entryId }, 'job hash expired before its outcome was stored');
    }
  }

  /** Acks and deletes the entry of a job that is gone or done, and writes nothing else. */
  async function release(job: JobRef): Promise<void> {
    await finishJob({ job, outcome: 'release', value: '', detail: '' });
  }

  async function scheduleRetry(job: JobRef, attempt: number, reason: string): Promise<void> {
    const delayMs = retryDelayMs(attempt, retry);
    const jobKeys = [keys.job(job.id), keys.jobs, keys.retries, keys.backlogBytes];
    const owner = ownerKey(job.owner);
    if (owner !== undefined) jobKeys.push(owner);
    deps.tracing?.jobEnded('retried', reason);
    const scheduled = await retryJob(
      jobKeys.length,
      ...jobKeys,
      keys.group,
      job.entryId,
      job.id,
      reason,
      String(delayMs),
      ttl,
      String(job.bytes),
    );
    if (scheduled === 1) {
      stats.retried += 1;
      log.info({ ...job.said, attempt, delayMs, reason }, 'attempt failed; retry scheduled');
    }
  }

  function leftPending(job: JobRef): void {
    log.warn(
      { ...job.said, entryId: job.entryId },
      'shutdown grace period over; job left pending for another consumer',
    );
  }

  /** Releases the entry of a job canceled while in hand: its hash says so already (cancel-job.lua). */
  function canceled(job: JobRef): Promise<void> {
    stats.canceled += 1;
    log.info({ ...job.said, entryId: job.entryId }, 'job canceled; entry released');
    return release(job);
  }

  return async function runJob(entryId, fields, decoded) {
    if (!decoded.ok) return deadLetterPoison(entryId, fields, decoded.reason);
    const { id, input, owner, wh } = decoded.message;
    const said = jobLogFields(decoded.message);
    const job: JobRef = { entryId, id, owner, webhook: wh === '1', bytes: Buffer.byteLength(input, 'utf8'), said };
    // Read just before the grace period ended: not started, so no attempt is counted.
    if (deps.hardStop.aborted) return leftPending(job);

    // Held before the start script runs: a cancel announced once the job is
    // `processing` always finds it. Lazy: its AbortController is made only if
    // the model reads the signal (a new one costs about 2 µs on Node 20).
    const cancel = new LazyAbort();
    const isCanceled = () => cancel.reason instanceof JobCanceledError;
    running.add(id, cancel);
    try {
      const attempt = await startJob(job);
      if (attempt === START_JOB_MISSING) {
        stats.expired += 1;
        log.warn({ ...said, entryId }, 'job hash expired before it ran; entry dropped');
        return await release(job);
      }
      // A redelivery, or a job canceled while it was queued: it never runs.
      if (attempt === START_JOB_ALREADY_FINISHED) {
        stats.duplicates += 1;
        return await release(job);
      }
      // Only reclaims after crashes can get here: a job that keeps killing its consumers.
      if (attempt === START_JOB_ATTEMPTS_SPENT) {
        const reason = `gave up after ${retry.maxAttempts} attempts: its consumers stopped`;
        return await finish(job, 'failed', reason, reason);
      }
      // The grace period may have ended while the start script was in flight.
      if (deps.hardStop.aborted) return leftPending(job);
      if (isCanceled()) return await canceled(job);

      const startedAt = Date.now();
      let result: unknown;
      try {
        result = await model.predict(input, cancel);
        if (typeof result !== 'string') throw new TypeError(`the model returned a ${typeof result}, not a string`);
      } catch (error) {
        if (deps.hardStop.aborted) return leftPending(job);
        if (isCanceled()) return await canceled(job);
        const detail = messageOf(error);
        if (isRetryable(error) && attempt < retry.maxAttempts) return await scheduleRetry(job, attempt, detail);
        log.warn({ ...said, attempt, err: error }, 'job failed for good');
        return await finish(job, 'failed', clientReason(error, detail), detail);
      }
      // A model that answered despite the abort: the cancel came first, and stays.
      if (isCanceled()) return await canceled(job);
      await finish(job, 'succeeded', result, '');
      // The finished hash keeps no creation or start time: timings live here. The
      // entry id's first part is when it was added to the stream.
      if (log.isLevelEnabled('debug')) {
        const queuedMs = startedAt - Number(entryId.split('-')[0]);
        log.debug({ ...said, attempt, queuedMs, runMs: Date.now() - startedAt }, 'job succeeded');
      }
    } finally {
      running.delete(id, cancel);
    }
  };
}
