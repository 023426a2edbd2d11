import type { ConfigCheck } from '@foretell/shared';

/**
 * The headers are part of the request: a headers deadline beyond the request's
 * would never fire (and Node refuses to create such a server).
 */
export const httpTimeoutsCheck: ConfigCheck<{ HEADERS_TIMEOUT_MS: number; REQUEST_TIMEOUT_MS: number }> = ({
  HEADERS_TIMEOUT_MS: headers,
  REQUEST_TIMEOUT_MS: request,
}) =>
  headers !== undefined && request !== undefined && headers > request
    ? [`HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS (got ${headers} > ${request})`]
    : [];
