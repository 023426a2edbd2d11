import { ErrorSchema, Type } from '@foretell/shared';
import type { TSchema } from 'typebox';

/** An error response of the catalogue, documented with an example body. */
export function errorResponse(description: string, example: { error: string; code?: string }): TSchema {
  return Type.Object(ErrorSchema.properties, {
    additionalProperties: false,
    description,
    examples: [example],
  });
}

/** The `Retry-After` header of 400 (still processing) and 503 answers. */
export const RetryAfterHeader = {
  'Retry-After': { type: 'integer', description: 'Seconds to wait before trying again.' },
};

/** 503 of a route that needs Redis, with its `Retry-After`. */
export const RedisUnavailableResponse = {
  ...errorResponse('Redis is unreachable; retry after `Retry-After` seconds.', {
    error: 'The queue is unavailable; retry later.',
    code: 'REDIS_UNAVAILABLE',
  }),
  headers: RetryAfterHeader,
};

const WwwAuthenticateHeader = {
  'WWW-Authenticate': {
    type: 'string',
    description: '`Bearer realm="foretell"`, with `error="invalid_token"` when the key sent is not one.',
  },
};

/** 401 of a route that needs an API key (keys on), with its challenge. */
export const UnauthorizedResponse = {
  ...errorResponse('No API key (`UNAUTHORIZED`), or not a valid one (`INVALID_API_KEY`).', {
    error: 'This route needs an API key: send Authorization: Bearer <key>.',
    code: 'UNAUTHORIZED',
  }),
  headers: WwwAuthenticateHeader,
};

// Answered by the HTTP layer before any route runs (see http-edge.ts), then the socket is closed.
export const requestTimeout = errorResponse(
  'The request, body included, did not arrive within `REQUEST_TIMEOUT_MS` (headers: `HEADERS_TIMEOUT_MS`).',
  { error: 'The request did not arrive in time.', code: 'REQUEST_TIMEOUT' },
);
export const headersTooLarge = errorResponse("The request headers are over Node's limit (16 KiB).", {
  error: 'The request headers are too large.',
  code: 'HEADERS_TOO_LARGE',
});
