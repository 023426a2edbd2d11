import { ReplyError } from 'ioredis';
import { AppError, StoreFullError, StoreUnavailableError } from './errors.js';

// Replies that mean "Redis cannot serve right now", not "foretell sent a bad command".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;
// A write refused at `maxmemory` (noeviction): its own code, so operators see memory, not an outage.
// Inside a script the reply names the script after the OOM sentence.
const OOM_REPLY = /^OOM\b|\bOOM command not allowed\b/;

// ioredis's own failures of the connection (it raises them as plain Errors).
const CONNECTION_FAILURE = new Set([
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'connect ETIMEDOUT',
]);
const CONNECTION_FAILURE_NAMES = new Set(['AbortError', 'InterruptError', 'MaxRetriesPerRequestError', 'ParserError']);

/** A socket error (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ...): it carries a system error code. */
function isSocketError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/**
 * What a failed Redis operation means for the client: Redis unreachable, too
 * slow or not serving writes now is 503 REDIS_UNAVAILABLE; out of memory is
 * 503 REDIS_FULL; both with Retry-After. Anything else (a reply error to a
 * command foretell got wrong, a corrupt record, a bug in our code) is
 * returned as it is, to become a 500: retrying would not help.
 */
export function classifyRedisFailure(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof Error)) return error;
  if (error instanceof ReplyError) {
    if (OOM_REPLY.test(error.message)) return new StoreFullError(error);
    return TRANSIENT_REPLY.test(error.message) ? new StoreUnavailableError(error) : error;
  }
  if (CONNECTION_FAILURE.has(error.message) || CONNECTION_FAILURE_NAMES.has(error.name) || isSocketError(error)) {
    return new StoreUnavailableError(error);
  }
  return error;
}
