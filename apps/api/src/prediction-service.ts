import { createHash, randomUUID } from 'node:crypto';
import type { JobRecord, JobTrace, JobWebhook, LazyAbort, Model, ModelIdentity } from '@foretell/shared';
import { AppError, UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import type { JobStore } from './job-store.js';
import type { PredictionMetrics } from './metrics/prediction-metrics.js';
import type { ReplicaWait } from './replica-wait.js';

/**
 * The model's answer: strings for a model without schemas (the contract's
 * PredictionOutput), its JSON values for one with.
 */
export interface ServedOutput {
  readonly input: unknown;
  readonly result: unknown;
}

export type PredictionLookup =
  | { kind: 'not-found' }
  // Which of the two: live events tell a queued job from a running one.
  | { kind: 'pending'; status: 'queued' | 'processing' }
  | { kind: 'succeeded'; output: ServedOutput; model: ModelIdentity | undefined }
  | { kind: 'failed'; reason: string; model: ModelIdentity | undefined }
  | { kind: 'canceled' };

/** What POST /predict/{id}/cancel did: canceled it now, found no such job, or found it finished. */
export type CancelResult =
  { kind: 'canceled' } | { kind: 'not-found' } | { kind: 'finished'; status: 'succeeded' | 'failed' | 'canceled' };

export interface PredictionService {
  /**
   * Runs the model in this process, bounded by the sync timeout. The caller
   * aborts `cancel` when its client goes away; the timeout aborts it too.
   */
  predictNow(input: unknown, cancel: LazyAbort): Promise<ServedOutput>;
  /**
   * Stores and enqueues a job; resolves with its id once both are in Redis.
   * With an idempotency key, a repeat of the same request resolves with the
   * first one's id (`replayed`) and enqueues nothing. With an owner (API keys
   * on), the job is that key's: its idempotency keys are the key's own, and
   * it counts toward the key's cap of jobs queued or running. With a
   * webhook (checked already), the consumers POST the job to it.
   */
  submit(
    input: unknown,
    idempotencyKey?: string,
    owner?: JobOwner,
    trace?: JobTrace,
    webhook?: JobWebhook,
  ): Promise<{ id: string; replayed: boolean }>;
  /** With `ownerId` (API keys on), a job created by another key is not found, exactly like an unknown id. */
  lookup(id: string, ownerId?: string): Promise<PredictionLookup>;
  /**
   * Cancels a job that has no outcome yet: queued, it never runs; running,
   * its consumer aborts the model call; waiting for a retry, it is dropped.
   * With `ownerId`, another key's job is not found, as for `lookup`.
   */
  cancel(id: string, ownerId?: string): Promise<CancelResult>;
}

/** The API key a job is submitted with: its id (never the secret) and its cap of jobs queued or running (0: none). */
export interface JobOwner {
  readonly id: string;
  readonly maxJobs: number;
}

export interface PredictionServiceDeps {
  readonly model: Model;
  /** False while the model's `load()` runs: sync predictions are 503 MODEL_LOADING meanwhile. */
  readonly isModelLoaded: () => boolean;
  readonly store: JobStore;
  readonly syncTimeoutMs: number;
  /** Sync predictions running at once beyond which new ones get 503. */
  readonly maxSyncInFlight: number;
  /** With REDIS_WAIT_REPLICAS: an async job is answered 202 only once enough replicas have it. */
  readonly replicaWait?: ReplicaWait;
  /** Counts each prediction's outcome (`foretell_predictions_total`). */
  readonly metrics: PredictionMetrics;
}

/**
 * The fingerprint an idempotency key is bound to: the body's input, and its
 * webhook when it has one (a repeat with another webhook is another request).
 * Without a webhook it is the input's alone, as before webhooks existed.
 */
function fingerprint(input: string, webhook: JobWebhook | undefined): string {
  const hash = createHash('sha256').update(input, 'utf8');
  if (webhook) hash.update(`\0${webhook.url}\0${webhook.events.join(',')}`, 'utf8');
  return hash.digest('base64url');
}

// Ids are issued as UUIDs; anything else cannot name a job, so it is not looked up.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toLookup(
  record: JobRecord | undefined,
  ownerId: string | undefined,
  decode: (text: string) => unknown,
  model: ModelIdentity | undefined,
): PredictionLookup {
  if (record === undefined) return { kind: 'not-found' };
  // Without keys (ownerId undefined) every job is visible, as in the seed contract.
  if (ownerId !== undefined && record.owner !== ownerId) return { kind: 'not-found' };
  switch (record.status) {
    case 'queued':
    case 'processing':
      return { kind: 'pending', status: record.status };
    case 'succeeded':
      return {
        kind: 'succeeded',
        output: { input: decode(record.input), result: decode(record.result ?? '') },
        model,
      };
    case 'failed':
      return { kind: 'failed', reason: record.reason ?? 'unknown', model };
    case 'canceled':
      return { kind: 'canceled' };
  }
}

export function createPredictionService(deps: PredictionServiceDeps): PredictionService {
  const { model, isModelLoaded, store, syncTimeoutMs, maxSyncInFlight, replicaWait, metrics } = deps;
  // A model with schemas takes and answers JSON: carried as JSON text (model-codec.ts), the values at the edges.
  const json = model.schemas !== undefined;
  const encode = json ? (value: unknown) => JSON.stringify(value) : (value: unknown) => value as string;
  const decode = json ? (text: string): unknown => JSON.parse(text) : (text: string): unknown => text;
  let syncInFlight = 0;
  const overloaded = { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS };

  /** Stores and enqueues a job (see PredictionService.submit); throws what refuses it. */
  async function enqueue(
    value: unknown,
    idempotencyKey: string | undefined,
    owner: JobOwner | undefined,
    trace: JobTrace | undefined,
    webhook: JobWebhook | undefined,
  ): Promise<{ id: string; replayed: boolean }> {
    const input = encode(value);
    const idempotency =
      idempotencyKey === undefined ? undefined : { key: idempotencyKey, fingerprint: fingerprint(input, webhook) };
    const { outcome, id } = await store.enqueue({
      id: randomUUID(),
      input,
      ...(idempotency && { idempotency }),
      ...(owner && { owner }),
      ...(trace && { trace }),
      ...(webhook && { webhook }),
    });
    // A replay waits too: the first answer may have been this 503.
    if ((outcome === 'queued' || outcome === 'replayed') && replicaWait && !(await replicaWait())) {
      throw new AppError('NOT_REPLICATED', undefined, overloaded);
    }
    switch (outcome) {
      case 'queued':
        return { id, replayed: false };
      case 'replayed':
        return { id, replayed: true };
      case 'conflict':
        throw new AppError('IDEMPOTENCY_KEY_REUSED');
      case 'full':
        throw new AppError('QUEUE_FULL', undefined, overloaded);
      case 'owner-full':
        throw new AppError('TOO_MANY_JOBS', undefined, overloaded);
      case 'webhooks-full':
        throw new AppError('WEBHOOKS_FULL', undefined, overloaded);
    }
  }

  return {
    async predictNow(input, cancel) {
      if (!isModelLoaded() || syncInFlight >= maxSyncInFlight) {
        metrics.sync('refused');
        throw new AppError(isModelLoaded() ? 'SYNC_OVERLOADED' : 'MODEL_LOADING', undefined, overloaded);
      }
      syncInFlight += 1;
      // One lazy controller and one timer per request (cheaper than AbortSignal.any on the hot path).
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        cancel.abort(new Error(`no answer within ${syncTimeoutMs} ms`));
      }, syncTimeoutMs);
      // Timed here, where the model is awaited anyway: a timing wrapper (timedModel) would add a promise to every call.
      const started = performance.now();
      try {
        // A getter: the controller is made only if the model reads the signal.
        const result: unknown = await model.predict(encode(input), cancel);
        // A plugged-in JavaScript model is not type-checked: anything but a string is its failure.
        if (typeof result !== 'string') throw new TypeError(`the model returned a ${typeof result}, not a string`);
        const output = { input, result: decode(result) };
        metrics.sync('succeeded');
        return output;
      } catch (error) {
        metrics.sync(timedOut ? 'timed_out' : 'failed');
        if (timedOut) throw new AppError('PREDICTION_TIMEOUT', undefined, { cause: error });
        throw new AppError('MODEL_FAILED', undefined, { cause: error });
      } finally {
        metrics.modelCall((performance.now() - started) / 1000);
        clearTimeout(timer);
        syncInFlight -= 1;
      }
    },

    async submit(value, idempotencyKey, owner, trace, webhook) {
      try {
        const submitted = await enqueue(value, idempotencyKey, owner, trace, webhook);
        metrics.async(submitted.replayed ? 'replayed' : 'queued');
        return submitted;
      } catch (error) {
        // A cap, a conflicting Idempotency-Key, Redis full or away: nothing was queued.
        metrics.async('refused');
        throw error;
      }
    },

    async lookup(id, ownerId) {
      if (!UUID.test(id)) return { kind: 'not-found' };
      const record = await store.read(id.toLowerCase());
      // Only a finished job has a model; another owner's job is not looked into further.
      const visible = record !== undefined && (ownerId === undefined || record.owner === ownerId);
      const model = visible && record.model !== undefined ? await store.modelNamed(record.model) : undefined;
      return toLookup(record, ownerId, decode, model);
    },

    async cancel(id, ownerId) {
      if (!UUID.test(id)) return { kind: 'not-found' };
      const outcome = await store.cancel(id.toLowerCase(), ownerId);
      metrics.cancel(outcome.kind === 'canceled' ? outcome.was : outcome.kind);
      switch (outcome.kind) {
        case 'canceled':
          return { kind: 'canceled' };
        case 'missing':
          return { kind: 'not-found' };
        case 'final':
          return { kind: 'finished', status: outcome.status };
      }
    },
  };
}
