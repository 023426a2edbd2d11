import type { RunningApi } from '../apps.js';
import { measurePaired, timingOf, type PairedTiming } from '../load.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { benchModel, syncLoad, withModelApi } from './model-api.js';

const ONE_CALL_AT_A_TIME_MODEL = benchModel('one-call-at-a-time.mjs');
const CALL_MS = '20';
const CONNECTIONS = 50;

/**
 * A smoke run's requests, at most two per connection: with batches of 1 the
 * model answers one call every 20 ms, so 200 would take 4 s.
 */
const smokeCapped = (timing: PairedTiming): PairedTiming =>
  timing.requests === undefined ? timing : { ...timing, requests: Math.min(timing.requests, 2 * CONNECTIONS) };

const withApi = <T>(context: ScenarioContext, batchSize: string, use: (api: RunningApi) => Promise<T>) =>
  withModelApi(
    context,
    `batching-${batchSize}`,
    { MODEL_MODULE: ONE_CALL_AT_A_TIME_MODEL, MODEL_MAX_BATCH_SIZE: batchSize, BENCH_CALL_MS: CALL_MS },
    use,
  );

/**
 * A batch model that runs one call at a time at a fixed cost per call (20 ms,
 * whatever the batch size), as one GPU does: sync throughput at 50
 * connections with batches of up to 32 against batches of 1, in the same run.
 */
export const modelBatching: Scenario = {
  name: 'batching',
  summary: 'one-call-at-a-time batch model (20 ms a call), sync at 50 connections, batches of 32 vs 1',
  async run(context) {
    const { settings } = context;
    context.log('batching: batches of up to 32 vs 1');
    return withApi(context, '1', (single) =>
      withApi(context, '32', async (batched) => {
        const { baseline, subject } = await measurePaired(
          syncLoad(single, CONNECTIONS),
          syncLoad(batched, CONNECTIONS),
          smokeCapped(timingOf(settings)),
        );
        return [
          {
            id: 'batching.rps',
            label: 'batch model, sync, batches of up to 32',
            unit: 'req/s',
            value: subject.rps,
            baseline: baseline.rps,
            baselineLabel: 'batches of 1',
            target: { kind: 'ratio-at-least', ratio: 5 },
            notes: [`batching: ${CALL_MS} ms a call, one call at a time, ${CONNECTIONS} connections`],
          },
        ];
      }),
    );
  },
};
