import type { ValuePredict } from './model-codec.js';
import type { PredictOptions } from './model.js';

export interface BatchSettings {
  /** At most this many inputs per predictBatch() call. */
  readonly maxBatchSize: number;
  /**
   * How long the first input of a batch may wait for others (Triton's
   * max_queue_delay). 0: only inputs that arrive in the same turn of the event
   * loop are gathered (all the jobs of one XREADGROUP, requests read together):
   * no input ever waits for a timer.
   */
  readonly maxBatchDelayMs: number;
}

export interface BatcherSettings extends BatchSettings {
  /**
   * predictBatch() calls that may run at once: 1 in the process (one model,
   * as one GPU), the number of threads in a pool. While they all run, the
   * inputs that arrive wait and make the next batch, which starts as soon as
   * one of them ends: a busy model gets fuller batches, not more calls.
   */
  readonly maxConcurrentBatches: number;
}

/** What a batch model is called with: one outcome per input, in order; an Error fails its input alone. */
export type PredictBatch = (inputs: readonly unknown[], options: PredictOptions) => Promise<readonly unknown[]>;

interface Waiting {
  readonly input: unknown;
  readonly signal: AbortSignal;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Removes it from the queue, or from its running batch's count, and rejects it with the signal's reason. */
  onAbort?: () => void;
  settled: boolean;
}

/** The error for what predictBatch() returned when it is not one outcome per input; undefined when it is. */
export function outcomeCountError(outcomes: unknown, inputs: number): TypeError | undefined {
  if (Array.isArray(outcomes) && outcomes.length === inputs) return undefined;
  const returned = Array.isArray(outcomes) ? `${outcomes.length} outcomes` : typeof outcomes;
  return new TypeError(`predictBatch() returned ${returned} for ${inputs} input${inputs === 1 ? '' : 's'}`);
}

/**
 * Serves a batch model one input at a time: the calls that arrive together
 * are gathered into one predictBatch() call, up to `maxBatchSize` inputs or
 * until `maxBatchDelayMs` after the first. Each caller still gets its own
 * result, its own error and its own abort: an aborted input is taken out of
 * the queue, or, once its batch runs, rejected at once while the batch goes
 * on for the others; the batch's own signal is aborted only when every one
 * of its inputs was.
 */
export function batchingPredict(predictBatch: PredictBatch, settings: BatcherSettings): ValuePredict {
  const { maxBatchSize, maxBatchDelayMs, maxConcurrentBatches } = settings;
  let queue: Waiting[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let running = 0;

  function settle(item: Waiting, outcome: { result: unknown } | { error: unknown }): void {
    if (item.settled) return;
    item.settled = true;
    if (item.onAbort) item.signal.removeEventListener('abort', item.onAbort);
    if ('error' in outcome) item.reject(outcome.error);
    else item.resolve(outcome.result);
  }

  async function run(batch: Waiting[]): Promise<void> {
    const controller = new AbortController();
    let live = batch.length;
    for (const item of batch) {
      item.onAbort = () => {
        settle(item, { error: item.signal.reason });
        live -= 1;
        if (live === 0) controller.abort(item.signal.reason);
      };
    }
    // Listeners swapped in one step: the queue's is removed, the batch's added.
    for (const item of batch) item.signal.addEventListener('abort', item.onAbort!, { once: true });
    let outcomes: unknown;
    running += 1;
    try {
      outcomes = await predictBatch(
        batch.map((item) => item.input),
        { signal: controller.signal },
      );
    } catch (error) {
      for (const item of batch) settle(item, { error });
      return;
    } finally {
      running -= 1;
      // What arrived meanwhile has waited a whole call already: it goes now.
      if (queue.length > 0) {
        cancelTimer();
        flush();
      }
    }
    const miscounted = outcomeCountError(outcomes, batch.length);
    if (miscounted) {
      for (const item of batch) settle(item, { error: miscounted });
      return;
    }
    batch.forEach((item, index) => {
      const outcome = (outcomes as unknown[])[index];
      settle(item, outcome instanceof Error ? { error: outcome } : { result: outcome });
    });
  }

  function flush(): void {
    timer = undefined;
    // Every call slot taken: the queue waits for the end of a call, which flushes it.
    if (running >= maxConcurrentBatches) return;
    const batch = queue.slice(0, maxBatchSize);
    queue = queue.slice(maxBatchSize);
    if (queue.length > 0) schedule();
    for (const item of batch) if (item.onAbort) item.signal.removeEventListener('abort', item.onAbort);
    void run(batch);
  }

  function schedule(): void {
    timer = maxBatchDelayMs === 0 ? setImmediate(flush) : setTimeout(flush, maxBatchDelayMs);
  }

  function cancelTimer(): void {
    if (timer === undefined) return;
    if (maxBatchDelayMs === 0) clearImmediate(timer as NodeJS.Immediate);
    else clearTimeout(timer as NodeJS.Timeout);
    timer = undefined;
  }

  return (input, options) =>
    new Promise<unknown>((resolve, reject) => {
      const { signal } = options;
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const item: Waiting = { input, signal, resolve, reject, settled: false };
      item.onAbort = () => {
        queue = queue.filter((waiting) => waiting !== item);
        if (queue.length === 0) cancelTimer();
        settle(item, { error: signal.reason });
      };
      signal.addEventListener('abort', item.onAbort, { once: true });
      queue.push(item);
      if (queue.length >= maxBatchSize) {
        cancelTimer();
        flush();
      } else if (timer === undefined) {
        schedule();
      }
    });
}
