import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FORETELL_VERSION, type Registry } from '@foretell/shared';

/** What /ready reports: ready, or why not (the same body shape as the API's 503). */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface MetricsServerOptions {
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  /** How long a request, headers and body, may take to arrive; 10 s unless a test shortens it. */
  readonly requestTimeoutMs?: number;
}

export interface MetricsServer {
  /** Resolves with the port it listens on; rejects (EADDRINUSE, EACCES) when it cannot. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

// Prometheus and a health probe make a few requests a second: a handful of
// sockets is plenty, and a request must come whole within seconds.
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 10_000;

function json(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * The consumer's own HTTP server (METRICS_PORT): GET /metrics (Prometheus),
 * /health (the process is up) and /ready (it reads jobs: the model loaded,
 * Redis answers, not stopping). It keeps answering while the consumer drains.
 * Plain node:http: three fixed GET routes need no framework.
 */
export function createMetricsServer({
  registry,
  readiness,
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
}: MetricsServerOptions): MetricsServer {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    const known = path === '/metrics' || path === '/health' || path === '/ready';
    if (!known) return json(response, 404, { error: 'Not found: this port serves /metrics, /health and /ready.' });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return json(response, 405, { error: `${path} answers GET only.` }, { allow: 'GET, HEAD' });
    }
    if (path === '/health') return json(response, 200, { status: 'ok', version: FORETELL_VERSION });
    if (path === '/ready') {
      const state = readiness();
      return state.ready
        ? json(response, 200, { status: 'ready' })
        : json(response, 503, { error: state.reason, code: 'NOT_READY' }, { 'retry-after': '1' });
    }
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(text);
  };

  const server: Server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // Node checks those deadlines only this often (30 s by default): a tenth keeps them near their value.
      connectionsCheckingInterval: Math.max(100, Math.floor(requestTimeoutMs / 10)),
    },
    (request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) json(response, 500, { error: `metrics failed: ${String(error)}` });
        else response.destroy();
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  // A keep-alive scraper's idle socket must not hold the stop.
  server.keepAliveTimeout = 5000;

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
