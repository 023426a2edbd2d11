/**
 * What foretell needs from a model. A user's own model plugs in by
 * implementing this interface; the mock model is the default.
 */
export interface PredictOptions {
  /** Aborted when the caller gives up (timeout, client gone, shutdown). */
  readonly signal: AbortSignal;
}

export interface Model {
  /**
   * Resolves with the prediction for `input`. Must not block the event loop
   * for long (run CPU-heavy work in a worker thread or another process) and
   * should reject promptly with the signal's reason once it is aborted.
   */
  predict(input: string, options: PredictOptions): Promise<string>;
}

/**
 * Thrown by a model for an input it can never answer (malformed, refused):
 * the job fails at once instead of being retried. Any error with
 * `retryable === false` counts too, so a model need not import this class.
 */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
  readonly retryable = false;
}

export function isRetryable(error: unknown): boolean {
  return !(typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false);
}
