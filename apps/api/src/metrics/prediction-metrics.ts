import { METRICS, type Registry } from '@foretell/shared';
import { Counter } from 'prom-client';

export type SyncOutcome = 'succeeded' | 'failed' | 'timed_out' | 'refused';
export type AsyncOutcome = 'queued' | 'replayed' | 'refused';

/** Counts predictions by mode and outcome (`foretell_predictions_total`). */
export interface PredictionMetrics {
  sync(outcome: SyncOutcome): void;
  async(outcome: AsyncOutcome): void;
}

const SYNC_OUTCOMES: readonly SyncOutcome[] = ['succeeded', 'failed', 'timed_out', 'refused'];
const ASYNC_OUTCOMES: readonly AsyncOutcome[] = ['queued', 'replayed', 'refused'];

export function createPredictionMetrics(registry: Registry): PredictionMetrics {
  const counter = new Counter({
    name: METRICS.predictions,
    help: 'Predictions asked for, by mode (sync, async) and outcome.',
    labelNames: ['mode', 'outcome'] as const,
    registers: [registry],
  });
  // Every series exists from the start at 0 (rate() needs a first sample), and each is incremented through its own child.
  const sync = new Map(SYNC_OUTCOMES.map((outcome) => [outcome, counter.labels('sync', outcome)]));
  const queued = new Map(ASYNC_OUTCOMES.map((outcome) => [outcome, counter.labels('async', outcome)]));
  for (const child of [...sync.values(), ...queued.values()]) child.inc(0);
  return {
    sync: (outcome) => sync.get(outcome)?.inc(),
    async: (outcome) => queued.get(outcome)?.inc(),
  };
}
