import { randomUUID } from 'node:crypto';
import type { JobRecord, Model, PredictionOutput } from '@foretell/shared';
import { AppError } from './errors.js';
import type { JobStore } from './job-store.js';

export type PredictionLookup =
  | { kind: 'not-found' }
  | { kind: 'pending'; status: 'queued' | 'processing' }
  | { kind: 'succeeded'; output: PredictionOutput }
  | { kind: 'failed'; reason: string };

export interface PredictionService {
  /** Runs the model in this process, bounded by the sync timeout and the caller's signal. */
  predictNow(input: string, callerSignal: AbortSignal): Promise<PredictionOutput>;
  /** Stores and enqueues a job; resolves with its id once both are durable in Redis. */
  submit(input: string): Promise<string>;
  lookup(id: string): Promise<PredictionLookup>;
}

export interface PredictionServiceDeps {
  readonly model: Model;
  readonly store: JobStore;
  readonly syncTimeoutMs: number;
}

// Ids are issued as UUIDs; anything else cannot name a job, so it is not looked up.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toLookup(record: JobRecord | undefined): PredictionLookup {
  if (record === undefined) return { kind: 'not-found' };
  switch (record.status) {
    case 'queued':
    case 'processing':
      return { kind: 'pending', status: record.status };
    case 'succeeded':
      return { kind: 'succeeded', output: { input: record.input, result: record.result ?? '' } };
    case 'failed':
      return { kind: 'failed', reason: record.reason ?? 'unknown' };
  }
}

export function createPredictionService({ model, store, syncTimeoutMs }: PredictionServiceDeps): PredictionService {
  return {
    async predictNow(input, callerSignal) {
      const timeout = AbortSignal.timeout(syncTimeoutMs);
      const signal = AbortSignal.any([timeout, callerSignal]);
      try {
        const result = await model.predict(input, { signal });
        return { input, result };
      } catch (error) {
        if (timeout.aborted) throw new AppError('PREDICTION_TIMEOUT', undefined, { cause: error });
        throw new AppError('MODEL_FAILED', undefined, { cause: error });
      }
    },

    async submit(input) {
      const id = randomUUID();
      await store.enqueue(id, input);
      return id;
    },

    async lookup(id) {
      if (!UUID.test(id)) return { kind: 'not-found' };
      return toLookup(await store.read(id.toLowerCase()));
    },
  };
}
