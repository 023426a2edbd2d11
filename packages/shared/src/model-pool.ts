import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { builtFileUrl } from './built-file.js';
import { batchingPredict } from './model-batcher.js';
import { onText, schemasOf, servesInBatches, type ValuePredict } from './model-codec.js';
import { batchSettingsOf, type ModelSettings } from './model-loader.js';
import type { Model, ModelDefinition } from './model.js';
import {
  CLOSE_REQUEST,
  type SerializedError,
  type WorkerNotice,
  type WorkerOutcome,
  type WorkerSetup,
  type WorkerTask,
} from './model-worker-protocol.js';

// How long close() waits for the threads' copies to close before it ends them anyway.
const THREAD_CLOSE_TIMEOUT_MS = 10_000;

function rebuildError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.retryable === false) Object.assign(error, { retryable: false });
  return error;
}

function isNotice(message: unknown): message is WorkerNotice {
  return typeof message === 'object' && message !== null && 'foretell' in message;
}

/**
 * The model served by MODEL_WORKERS worker threads (piscina), each with its
 * own copy loaded (model-worker.ts): a CPU-bound model then never blocks this
 * process's event loop. `definition` is this process's unloaded copy, for the
 * name, the version and the methods it has. A batch model gets its batches
 * gathered here and run in a thread each. An aborted call rejects at once; if
 * its task runs, the pool ends that thread (the only way to stop synchronous
 * work) and starts another, which loads the model again. `capacity` (what
 * the consumer takes at most) is twice what the threads run at once.
 * close() has every thread close its copy, then ends the threads.
 */
export function createModelPool(
  definition: ModelDefinition,
  setup: Pick<WorkerSetup, 'env' | 'cwd'> & { readonly settings: ModelSettings },
): Model {
  const threads = setup.settings.MODEL_WORKERS;
  const batching = batchSettingsOf(setup.settings);
  const workerSetup: WorkerSetup = {
    settings: setup.settings,
    closeChannel: `foretell-model-pool:${randomUUID()}`,
    // Plain strings only: the environment object itself cannot be cloned into a thread.
    env: Object.fromEntries(Object.entries(setup.env).filter(([, value]) => value !== undefined)),
    cwd: setup.cwd,
  };
  const pool = new Piscina<WorkerTask, WorkerOutcome[]>({
    filename: builtFileUrl('model-worker.js'),
    minThreads: threads,
    maxThreads: threads,
    // Every thread is started (and loads the model) at once, and never ended for being idle.
    idleTimeout: Number.POSITIVE_INFINITY,
    // Atomics.wait between tasks would freeze an async model's own timers and sockets.
    atomics: 'disabled',
    workerData: workerSetup,
  });

  let loaded = 0;
  let loadFailure: Error | undefined;
  const waiting = new Set<{ resolve: () => void; reject: (error: Error) => void }>();
  // Threads with a loaded copy, by threadId; close() waits for those alive to close theirs.
  const loadedThreads = new Set<number>();
  const closing = { replied: (_threadId: number, _failure?: string) => undefined as void };
  pool.on('message', (message: unknown) => {
    if (!isNotice(message)) return;
    if (message.foretell === 'closed') return closing.replied(message.threadId);
    if (message.foretell === 'close-failed') return closing.replied(message.threadId, message.message);
    if (message.foretell === 'loaded') {
      loaded += 1;
      loadedThreads.add(message.threadId);
    } else loadFailure ??= new Error(message.message);
    for (const waiter of waiting) {
      if (loadFailure) waiter.reject(loadFailure);
      else if (loaded >= threads) waiter.resolve();
    }
  });
  // A thread that fails to load ends with that error: its notice above says why.
  pool.on('error', () => undefined);

  const run = async (inputs: readonly unknown[], signal: AbortSignal) => pool.run({ inputs }, { signal });
  const batched = servesInBatches(definition, batching);
  const predict: ValuePredict = batched
    ? batchingPredict(
        async (inputs, { signal }) =>
          (await run(inputs, signal)).map((outcome) =>
            'error' in outcome ? rebuildError(outcome.error) : outcome.result,
          ),
        { ...batching, maxConcurrentBatches: threads },
      )
    : async (input, { signal }) => {
        const [outcome] = await run([input], signal);
        if (outcome === undefined) throw new TypeError('the model pool returned no outcome');
        if ('error' in outcome) throw rebuildError(outcome.error);
        return outcome.result;
      };
  const schemas = schemasOf(definition);

  return {
    name: definition.name,
    version: definition.version,
    // What runs in every thread, and as much again ready to go next: no thread waits on a read of the stream.
    capacity: 2 * threads * (batched ? batching.maxBatchSize : 1),
    ...(schemas && { schemas }),
    predict: onText(predict, schemas),
    load: () =>
      new Promise<void>((resolve, reject) => {
        if (loadFailure) reject(loadFailure);
        else if (loaded >= threads) resolve();
        else waiting.add({ resolve, reject });
      }),
    async close() {
      const alive = new Set(pool.threads.map((thread) => thread.threadId));
      const open = new Set([...loadedThreads].filter((id) => alive.has(id)));
      let failure: string | undefined;
      if (open.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, THREAD_CLOSE_TIMEOUT_MS);
          closing.replied = (threadId, message) => {
            failure ??= message;
            open.delete(threadId);
            if (open.size > 0) return;
            clearTimeout(timer);
            resolve();
          };
          const channel = new BroadcastChannel(workerSetup.closeChannel);
          channel.postMessage(CLOSE_REQUEST);
          channel.close();
        });
      }
      await pool.destroy();
      if (failure !== undefined) throw new Error(failure);
    },
  };
}
