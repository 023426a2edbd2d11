// The module each worker thread of the model pool runs (model-pool.ts): it
// loads its own copy of the model (createModel, then load()) before it takes
// any task, then runs batches of inputs. Outcomes cross back to the main
// thread as plain data: a structured clone of an Error would drop `retryable`.
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelDefinition, PredictOptions } from './model.js';
import { outcomeCountError } from './model-batcher.js';
import { loadDefinition, type ModelSettings } from './model-loader.js';

export interface WorkerSetup {
  readonly settings: ModelSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** What the pool's threads tell the main thread, besides task results. */
export type WorkerNotice =
  { readonly foretell: 'loaded' } | { readonly foretell: 'load-failed'; readonly message: string };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly retryable?: boolean;
}

export type WorkerOutcome = { readonly result: unknown } | { readonly error: SerializedError };

export interface WorkerTask {
  /** Values: a JSON model's inputs are parsed in the main thread (model-codec.ts). */
  readonly inputs: readonly unknown[];
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { retryable } = error as { retryable?: unknown };
  return { name: error.name, message: error.message, ...(retryable === false && { retryable: false }) };
}

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
notify({ foretell: 'loaded' });

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
