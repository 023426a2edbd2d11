import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ApiConfigSchema, type ApiConfig } from './config.js';
import { ERROR_CATALOGUE, type ErrorCode } from './errors.js';

/** The socket limits of the HTTP server; absent ones take their configuration default. */
export type HttpEdgeConfig = Partial<
  Pick<ApiConfig, 'REQUEST_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS' | 'MAX_CONNECTIONS'>
>;

/** A variable's default, from the schema: one source for the app and its tests. */
function defaultOf(name: keyof Required<HttpEdgeConfig>): number {
  const fallback: unknown = (ApiConfigSchema.properties[name] as { default?: unknown }).default;
  if (typeof fallback !== 'number') throw new Error(`${name} has no numeric default`);
  return fallback;
}

const DEFAULTS = {
  REQUEST_TIMEOUT_MS: defaultOf('REQUEST_TIMEOUT_MS'),
  HEADERS_TIMEOUT_MS: defaultOf('HEADERS_TIMEOUT_MS'),
  KEEP_ALIVE_TIMEOUT_MS: defaultOf('KEEP_ALIVE_TIMEOUT_MS'),
  MAX_CONNECTIONS: defaultOf('MAX_CONNECTIONS'),
};

/**
 * Node checks the request and headers deadlines only every
 * `connectionsCheckingInterval` (30 s by default): a 2 s deadline would fire
 * after up to 32 s. A tenth of the shorter deadline, at most a second, keeps
 * the lateness small; the check walks the open sockets, a few thousand at most.
 */
function checkingIntervalMs(headersMs: number, requestMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(headersMs, requestMs) / 10)));
}

/** A raw HTTP answer in the catalogue's JSON, for errors raised before any request object exists. */
function rawAnswer(code: ErrorCode, message: string = ERROR_CATALOGUE[code].message): string {
  const { statusCode } = ERROR_CATALOGUE[code];
  const body = JSON.stringify({ error: message, code });
  return (
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\nConnection: close\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const REQUEST_TIMEOUT_ANSWER = rawAnswer('REQUEST_TIMEOUT');
const HEADERS_TOO_LARGE_ANSWER = rawAnswer('HEADERS_TOO_LARGE');
const MALFORMED_ANSWER = rawAnswer('INVALID_REQUEST', 'The HTTP request is malformed.');

/**
 * Node's `clientError`: a request that missed its deadline, headers over the
 * size limit, or bytes that are not HTTP. Answered in the catalogue's format
 * (Fastify's default body is not) unless part of a response already left,
 * then the socket is closed.
 */
function onClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? REQUEST_TIMEOUT_ANSWER
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? HEADERS_TOO_LARGE_ANSWER
          : MALFORMED_ANSWER,
    );
  }
  this.log.debug({ err: error }, 'client error');
  socket.destroy();
}

/** Fastify's options for the server's sockets: deadlines, keep-alive, and the answers to broken requests. */
export function httpEdgeOptions(config: HttpEdgeConfig): {
  requestTimeout: number;
  keepAliveTimeout: number;
  forceCloseConnections: boolean;
  http: ServerOptions;
  clientErrorHandler: typeof onClientError;
} {
  const requestMs = config.REQUEST_TIMEOUT_MS ?? DEFAULTS.REQUEST_TIMEOUT_MS;
  const headersMs = Math.min(config.HEADERS_TIMEOUT_MS ?? DEFAULTS.HEADERS_TIMEOUT_MS, requestMs);
  const keepAliveMs = config.KEEP_ALIVE_TIMEOUT_MS ?? DEFAULTS.KEEP_ALIVE_TIMEOUT_MS;
  return {
    requestTimeout: requestMs,
    // Fastify reads 0 as "its default"; 1 ms closes an idle socket at once, as no keep-alive would.
    keepAliveTimeout: Math.max(1, keepAliveMs),
    // Once the in-flight requests are drained (drain-on-close.ts), whatever is
    // left open is idle or stalled mid-request: closing it must not wait.
    forceCloseConnections: true,
    http: {
      requestTimeout: requestMs,
      headersTimeout: headersMs,
      connectionsCheckingInterval: checkingIntervalMs(headersMs, requestMs),
    },
    clientErrorHandler: onClientError,
  };
}

/** Beyond this many open sockets, Node closes new connections as soon as it accepts them. */
export function capConnections(app: FastifyInstance, config: HttpEdgeConfig): void {
  app.server.maxConnections = config.MAX_CONNECTIONS ?? DEFAULTS.MAX_CONNECTIONS;
}
