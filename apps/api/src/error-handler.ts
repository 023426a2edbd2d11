import { MESSAGES } from '@foretell/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
import { lingerBeforeClose } from './linger-close.js';

interface ErrorAnswer {
  statusCode: number;
  body: { error: string; code: ErrorCode };
  retryAfterSeconds?: number | undefined;
}

function answer(code: ErrorCode, error: string = ERROR_CATALOGUE[code].message): ErrorAnswer {
  return { statusCode: ERROR_CATALOGUE[code].statusCode, body: { error, code } };
}

/** "body/input must be string" → "Invalid request: body/input must be string." */
function validationMessage(message: string): string {
  const sentence = message.endsWith('.') ? message : `${message}.`;
  return `${ERROR_CATALOGUE.INVALID_REQUEST.message}: ${sentence}`;
}

// Fastify's own client errors, by code (docs/Reference/Errors.md).
const FASTIFY_CODES: Partial<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

/** Maps any error to what the client sees. Exported for tests. */
export function toErrorAnswer(error: FastifyError | AppError | Error): ErrorAnswer {
  if (error instanceof AppError) {
    return { ...answer(error.code, error.message), retryAfterSeconds: error.retryAfterSeconds };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return answer('INVALID_REQUEST', validationMessage(fastifyError.message));
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return answer(mapped);
  const status = fastifyError.statusCode ?? 500;
  // JSON.parse and secure-json-parse (prototype poisoning) errors carry a 400.
  if (status === 400) return answer('INVALID_JSON');
  if (status > 400 && status < 500) {
    return { statusCode: status, body: { error: 'The request cannot be served.', code: 'INVALID_REQUEST' } };
  }
  return answer('INTERNAL');
}

/**
 * One error handler for the whole app: every error body is `{error, code}`,
 * 5xx never show internals, and unexpected errors are logged with their stack.
 */
/**
 * `timeUnmatched` times the not-found answers, which no route's own hook
 * does (see metrics/http-metrics.ts).
 */
export function installErrorHandling(
  app: FastifyInstance,
  timeUnmatched: (request: FastifyRequest, reply: FastifyReply) => void,
): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply) => {
    const { statusCode, body, retryAfterSeconds } = toErrorAnswer(error);
    if (statusCode >= 500) {
      // An AppError is an answer we chose (503, 504); anything else is a bug.
      if (error instanceof AppError) request.log.warn({ err: error, code: body.code }, 'request refused');
      else request.log.error({ err: error }, 'request failed');
    }
    if (retryAfterSeconds !== undefined) void reply.header('Retry-After', String(retryAfterSeconds));
    // The client may still be sending the body we refused: let it read the 413 (see linger-close.ts).
    if (body.code === 'BODY_TOO_LARGE') lingerBeforeClose(request.raw);
    // Not the route's response schema: it describes that route's own bodies (GET's 500 is
    // "Prediction failed." with its id), and an error body failing it would be replaced
    // by Fastify's, internals and all.
    return reply.code(statusCode).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    timeUnmatched(request, reply);
    return reply.code(404).send(answer('ROUTE_NOT_FOUND').body);
  });
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing, such as a URL
 * with a malformed percent-encoding (`/predict/%zz`) or a path parameter over
 * the router's length limit. Under /predict/ such a URL names no job: the
 * contract's "not found". Elsewhere it names no route.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (request.url.startsWith('/predict/')) {
    void reply.code(404).send({ error: MESSAGES.notFound });
    return;
  }
  const { statusCode, body } = error.code === 'FST_ERR_BAD_URL' ? answer('ROUTE_NOT_FOUND') : toErrorAnswer(error);
  if (statusCode >= 500) request.log.error({ err: error }, 'request failed before routing');
  void reply.code(statusCode).send(body);
}
