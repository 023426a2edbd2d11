// The module each worker thread of the model pool runs (model-pool.ts): it
// loads its own copy of the model (createModel, then load()) before it takes
// any task, then runs batches of inputs, and closes its copy when the pool
// asks (on shutdown). Outcomes cross back to the main thread as plain data: a
// structured clone of an Error would drop `retryable`.
import { BroadcastChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import type { ModelDefinition, PredictOptions } from './model.js';
import {
  CLOSE_REQUEST,
  serializeError,
  type WorkerNotice,
  type WorkerOutcome,
  type WorkerSetup,
  type WorkerTask,
} from './model-worker-protocol.js';
import { outcomeCountError } from './model-batcher.js';
import { loadDefinition } from './model-loader.js';

function notify(notice: WorkerNotice): void {
  parentPort?.postMessage(notice);
}

const setup = workerData as WorkerSetup;
let definition: ModelDefinition;
try {
  // In the thread the model runs in place: no further pool.
  definition = await loadDefinition({ ...setup.settings, MODEL_WORKERS: 0 }, setup.env, setup.cwd);
  await definition.load?.();
} catch (error) {
  notify({ foretell: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  throw error;
}
notify({ foretell: 'loaded', threadId });

// Listened to only once loaded: a thread still loading (one started again
// after an abort) is ended by the pool without a close, as its copy never served.
const closing = new BroadcastChannel(setup.closeChannel);
// The channel alone must not keep the thread alive.
closing.unref();
closing.onmessage = (event) => {
  if ((event as { data?: unknown }).data !== CLOSE_REQUEST) return;
  closing.close();
  Promise.resolve()
    .then(() => definition.close?.())
    .then(
      () => notify({ foretell: 'closed', threadId }),
      (error: unknown) =>
        notify({ foretell: 'close-failed', threadId, message: error instanceof Error ? error.message : String(error) }),
    );
};

// A running task is stopped by ending its thread (the pool does, on abort):
// the model's own signal never fires here.
const options: PredictOptions = { signal: new AbortController().signal };

async function runBatch(inputs: readonly unknown[]): Promise<WorkerOutcome[]> {
  let outcomes: unknown;
  try {
    outcomes = await definition.predictBatch!(inputs, options);
  } catch (error) {
    return inputs.map(() => ({ error: serializeError(error) }));
  }
  const miscounted = outcomeCountError(outcomes, inputs.length);
  if (miscounted) {
    const error = serializeError(miscounted);
    return inputs.map(() => ({ error }));
  }
  return (outcomes as unknown[]).map((outcome) =>
    outcome instanceof Error ? { error: serializeError(outcome) } : { result: outcome },
  );
}

export default async function run({ inputs }: WorkerTask): Promise<WorkerOutcome[]> {
  if (definition.predictBatch) return runBatch(inputs);
  return Promise.all(
    inputs.map((input) =>
      definition.predict!(input, options).then(
        (result): WorkerOutcome => ({ result }),
        (error: unknown): WorkerOutcome => ({ error: serializeError(error) }),
      ),
    ),
  );
}
