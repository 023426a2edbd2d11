import type { Model } from '../model.js';

/**
 * What the apps ask of tracing. This file imports no OpenTelemetry module:
 * the apps hold a `Tracing` only when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (load-tracing.ts loads the SDK then), and otherwise `undefined`, so that
 * the whole cost of tracing off is one `if (tracing)` where a span would start.
 */
export interface Tracing {
  /** The server span of an HTTP request; its parent is the client's valid `traceparent`, else it starts a trace. */
  startRequest(request: IncomingRequest): RequestSpan;
  /**
   * Runs `send` (the Redis call that stores and queues a job) inside a
   * producer span, and gives it that span's `traceparent` to store with the
   * job: the consumer's span of the job joins the request's trace through it.
   */
  enqueue<T extends EnqueueAnswer>(
    stream: string,
    jobId: string,
    send: (traceparent: string) => Promise<T>,
  ): Promise<T>;
  /** Runs `call` inside a client span of one Redis command; `script` names the Lua script it runs, if any. */
  redisCall<T>(command: string, script: string | undefined, call: () => Promise<T>): Promise<T>;
  /** The model, each call of `predict` in a span of its own. */
  traceModel(model: Model): Model;
  /**
   * Runs one job inside a consumer span whose parent and link are the span
   * whose `traceparent` was stored with it (none: a trace of its own).
   */
  runJob<T>(job: JobRun, run: () => Promise<T>): Promise<T>;
  /** Marks the job span `run` is inside with how the attempt ended; an attempt that did not succeed is an error. */
  jobEnded(outcome: JobOutcome, reason: string): void;
  /** Exports what is buffered and stops; bounded in time. */
  shutdown(): Promise<void>;
}

export interface IncomingRequest {
  readonly method: string;
  /** Without the query string. */
  readonly path: string;
  readonly requestId: string;
  /** The raw header values, validated by the implementation. */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
}

export interface RequestSpan {
  /** Runs `fn` with this span as the parent of every span started in it and in what it awaits. */
  run<T>(fn: () => T): T;
  /** Ends the span (once; later calls do nothing). No status code: the client went away first. */
  end(statusCode: number | undefined, route: string | undefined): void;
}

/** What the enqueue span records of the answer. */
export interface EnqueueAnswer {
  readonly outcome: string;
  readonly id: string;
}

export interface JobRun {
  readonly stream: string;
  readonly group: string;
  readonly entryId: string;
  readonly jobId: string;
  readonly requestId: string | undefined;
  readonly traceparent: string | undefined;
}

export type JobOutcome = 'succeeded' | 'failed' | 'retried';
