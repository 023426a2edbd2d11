/**
 * The catalogue of errors the API answers with, one stable code each. The
 * README's error table mirrors it. The assignment's own error bodies (still
 * processing, not found, failed) carry no code: their bytes are fixed.
 */
export const ERROR_CATALOGUE = {
  INVALID_REQUEST: { statusCode: 400, message: 'Invalid request' },
  INVALID_JSON: { statusCode: 400, message: 'Request body is not valid JSON.' },
  EMPTY_BODY: { statusCode: 400, message: 'Request body is empty; send a JSON object such as {"input": "text"}.' },
  INVALID_WEBHOOK: { statusCode: 400, message: 'The webhook is not valid.' },
  WEBHOOKS_OFF: {
    statusCode: 400,
    message: 'Webhooks are off on this server (no WEBHOOK_SECRET); poll or wait for the result instead.',
  },
  ROUTE_NOT_FOUND: { statusCode: 404, message: 'Route not found.' },
  REQUEST_TIMEOUT: { statusCode: 408, message: 'The request did not arrive in time.' },
  BODY_TOO_LARGE: { statusCode: 413, message: 'Request body is too large.' },
  HEADERS_TOO_LARGE: { statusCode: 431, message: 'The request headers are too large.' },
  IDEMPOTENCY_KEY_REUSED: {
    statusCode: 422,
    message: 'This Idempotency-Key was already used with a different request body.',
  },
  UNSUPPORTED_MEDIA_TYPE: { statusCode: 415, message: 'Unsupported content type; send application/json.' },
  JOB_NOT_FOUND: { statusCode: 404, message: 'Prediction ID not found.' },
  DEAD_LETTER_NOT_FOUND: { statusCode: 404, message: 'Dead letter not found.' },
  NOT_REPLAYABLE: { statusCode: 409, message: 'This dead letter names no valid job; it cannot be replayed.' },
  UNAUTHORIZED: { statusCode: 401, message: 'This route needs an API key: send Authorization: Bearer <key>.' },
  INVALID_API_KEY: { statusCode: 401, message: 'The API key is not valid.' },
  RATE_LIMITED: { statusCode: 429, message: 'Too many requests with this API key; retry after Retry-After seconds.' },
  TOO_MANY_JOBS: {
    statusCode: 429,
    message: 'This API key has too many jobs queued or running; retry once some have finished.',
  },
  INTERNAL: { statusCode: 500, message: 'Internal server error.' },
  MODEL_FAILED: { statusCode: 500, message: 'The model failed to make a prediction.' },
  REDIS_UNAVAILABLE: { statusCode: 503, message: 'The queue is unavailable; retry later.' },
  REDIS_FULL: { statusCode: 503, message: 'The queue has no memory left; retry later.' },
  NOT_READY: { statusCode: 503, message: 'Not ready.' },
  QUEUE_FULL: { statusCode: 503, message: 'The queue is full; retry later.' },
  NOT_REPLICATED: {
    statusCode: 503,
    message:
      'The job is stored but not yet confirmed by enough replicas; it may still run. Retry with the same Idempotency-Key.',
  },
  WEBHOOKS_FULL: {
    statusCode: 503,
    message: 'Too many webhook deliveries are waiting to be sent; retry later.',
  },
  WEBHOOK_LOOKUPS_BUSY: {
    statusCode: 503,
    message: 'Too many webhook hosts are being looked up; retry later.',
  },
  SYNC_OVERLOADED: { statusCode: 503, message: 'Too many synchronous predictions are running; retry later.' },
  MODEL_LOADING: { statusCode: 503, message: 'The model is still loading; retry shortly.' },
  TOO_MANY_WAITERS: {
    statusCode: 503,
    message: 'Too many requests are waiting on jobs (MAX_WAITERS); retry later.',
  },
  SHUTTING_DOWN: { statusCode: 503, message: 'The server is shutting down; retry shortly.' },
  PREDICTION_TIMEOUT: { statusCode: 504, message: 'The model did not answer in time.' },
} as const satisfies Record<string, { statusCode: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the API answers with on purpose: its code maps to a status. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly statusCode: number;
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CATALOGUE[code].message,
    options?: ErrorOptions & { retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.statusCode = ERROR_CATALOGUE[code].statusCode;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** Seconds a client should wait before retrying after a 503. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

export class StoreUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('REDIS_UNAVAILABLE', undefined, { cause, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
  }
}

/** A write Redis refused at `maxmemory`: it frees memory as consumers finish jobs. */
export class StoreFullError extends AppError {
  constructor(cause: unknown) {
    super('REDIS_FULL', undefined, { cause, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
  }
}
