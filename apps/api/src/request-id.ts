import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { acceptedRequestId } from '@foretell/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Each request's id: the client's `X-Request-Id` when it is one (1 to 128
 * visible ASCII characters, so it is safe in a header, a log line and a
 * Redis field), else a new UUID. Fastify logs it with every line of the
 * request; an async job carries it to the consumer's log lines.
 */
export function requestIdOf(request: IncomingMessage): string {
  return acceptedRequestId(request.headers['x-request-id']) ?? randomUUID();
}

/**
 * Echoes the id in the answer's `X-Request-Id`, so a client can quote it,
 * whichever made it. Run on every request by drain-on-close's hook.
 */
export function echoRequestId(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', request.id);
}
