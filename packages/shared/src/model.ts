/**
 * What foretell needs from a model. A user's own model plugs in through a
 * module (MODEL_MODULE) whose `createModel(options)` returns a
 * ModelDefinition; model-loader.ts checks it and serves it as a Model. The
 * mock model is the default.
 */
export interface PredictOptions {
  /** Aborted when the caller gives up (timeout, client gone, shutdown). */
  readonly signal: AbortSignal;
}

/** A JSON Schema, such as a TypeBox schema (`Type.Object(…)`, re-exported by this package). */
export type JsonSchema = object;

/** A model's input and output schemas, once checked: with them, inputs and results are JSON. */
export interface ModelSchemas {
  readonly input: JsonSchema;
  readonly output: JsonSchema;
}

/** What `createModel(options)` is given. */
export interface CreateModelOptions {
  /**
   * The process's environment, for the model's own settings (a weights path,
   * a threshold): a model reads what it needs and ignores the rest.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * What a model module's `createModel(options)` returns (or resolves with).
 * `name` and `version` are sent with every sync answer (the headers
 * Foretell-Model-Name and Foretell-Model-Version). It has `predict`, or
 * `predictBatch`, or both.
 */
export interface ModelDefinition {
  /** 1 to 100 visible ASCII characters, e.g. `sentiment`. */
  readonly name: string;
  /** 1 to 100 visible ASCII characters, e.g. `1.2.0`. */
  readonly version: string;
  /**
   * The schema `input` is validated against (400 when it does not match),
   * shown in the OpenAPI document with its `examples`. With it or
   * `outputSchema`, inputs and results are any JSON (stored as JSON text);
   * without either, both are strings, as the mock model's.
   */
  readonly inputSchema?: JsonSchema;
  /** The schema every result must match (a result that does not is a failed prediction). */
  readonly outputSchema?: JsonSchema;
  /** Awaited once before the process is ready (weights, warm-up); a rejection stops the process. */
  load?(): void | Promise<void>;
  /** Awaited once on shutdown, after the last prediction. */
  close?(): void | Promise<void>;
  /**
   * Resolves with the prediction for `input`. Must not block the event loop
   * for long and should reject promptly with the signal's reason once it is
   * aborted.
   */
  predict?(input: unknown, options: PredictOptions): Promise<unknown>;
  /**
   * Resolves with one outcome per input, in order: the result, or an Error
   * for an input that failed (the others still succeed).
   */
  predictBatch?(inputs: readonly unknown[], options: PredictOptions): Promise<readonly unknown[]>;
}

/** A model as the apps serve it: one input at a time. */
export interface Model {
  /** Set for every model MODEL_MODULE names, and the mock's; the apps' tests build bare models. */
  readonly name?: string;
  readonly version?: string;
  /**
   * How many predictions the consumer should have in hand at most: what the
   * model runs at once (threads × batch size) and as much again, ready to go
   * next; unset: no such bound (a model of one input at a time in the process).
   */
  readonly capacity?: number;
  /** Set when the model declared schemas: `predict` then takes and returns JSON text. */
  readonly schemas?: ModelSchemas;
  load?(): void | Promise<void>;
  close?(): void | Promise<void>;
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
