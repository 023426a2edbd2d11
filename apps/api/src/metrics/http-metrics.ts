import { CountingHistogram, METRICS, type Registry } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';

// From 1 ms to the sync path's 30 s default timeout; the mock's 10–17 s fall in the top buckets.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

// What a request that matched no route is counted under: its URL would let any client create series.
const UNMATCHED = 'unmatched';

type Observe = (seconds: number) => void;

/**
 * Times every response into `foretell_http_request_duration_seconds` by
 * route pattern, method and status code: all three are bounded (the routes,
 * the methods Node's parser accepts, 100–599), so no client can grow the
 * number of series. Each combination's counter is kept, so a request costs a
 * map lookup and a few additions (CountingHistogram).
 */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const histogram = new CountingHistogram({
    name: METRICS.httpRequestDuration,
    help: 'Time from the start of a request to its response, in seconds, by route, method and status code.',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const children = new Map<string, Observe>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED;
    const key = `${route} ${request.method} ${reply.statusCode}`;
    let observe = children.get(key);
    if (observe === undefined) {
      observe = histogram.series({ route, method: request.method, status_code: String(reply.statusCode) });
      children.set(key, observe);
    }
    observe(reply.elapsedTime / 1000);
    done();
  });
}
