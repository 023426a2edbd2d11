// What the model pool (model-pool.ts) and its threads (model-worker.ts) send
// each other: kept apart from the thread's module, which loads the model as
// soon as it is imported.
import type { ModelSettings } from './model-loader.js';

export interface WorkerSetup {
  readonly settings: ModelSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /**
   * The BroadcastChannel on which the pool asks every thread to close its
   * copy: piscina's own port to a thread carries only its protocol.
   */
  readonly closeChannel: string;
}

/** What the pool's threads tell the main thread, besides task results. */
export type WorkerNotice =
  | { readonly foretell: 'loaded'; readonly threadId: number }
  | { readonly foretell: 'load-failed'; readonly message: string }
  | { readonly foretell: 'closed'; readonly threadId: number }
  | { readonly foretell: 'close-failed'; readonly threadId: number; readonly message: string };

/** What the pool posts on `closeChannel`. */
export const CLOSE_REQUEST = 'close';

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
