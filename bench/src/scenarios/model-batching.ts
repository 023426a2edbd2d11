import { fileURLToPath } from 'node:url';
import { startApi, type RunningApi } from '../apps.js';
import { JSON_HEADERS, measurePaired, PREDICT_BODY, type LoadSpec } from '../load.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

const ONE_CALL_AT_A_TIME_MODEL = fileURLToPath(new URL('../../models/one-call-at-a-time.mjs', import.meta.url));
const CALL_MS = '20';
const CONNECTIONS = 50;

function syncLoad(api: RunningApi): LoadSpec {
  return {
    url: api.url,
    connections: CONNECTIONS,
    method: 'POST',
    path: '/predict',
    headers: JSON_HEADERS,
    body: PREDICT_BODY,
    expectStatus: 200,
    ...(api.process.pid !== undefined && { serverPid: api.process.pid }),
  };
}

async function withApi<T>(
  context: ScenarioContext,
  batchSize: string,
  use: (api: RunningApi) => Promise<T>,
): Promise<T> {
  const api = await startApi(context, {
    label: `batching-${batchSize}`,
    prefix: `bench-batching-${batchSize}`,
    waitForModel: true,
    env: { MODEL_MODULE: ONE_CALL_AT_A_TIME_MODEL, MODEL_MAX_BATCH_SIZE: batchSize, BENCH_CALL_MS: CALL_MS },
  });
  try {
    return await use(api);
  } finally {
    await api.process.stop();
  }
}

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
        const { baseline, subject } = await measurePaired(syncLoad(single), syncLoad(batched), {
          durationS: settings.durationS,
          warmupS: settings.warmupS,
        });
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
