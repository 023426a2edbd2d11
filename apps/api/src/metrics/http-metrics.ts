import { CountingHistogram, METRICS, type Registry } from '@foretell/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler, RouteOptions } from 'fastify';

// From 1 ms to the sync path's 30 s default timeout; the mock's 10–17 s fall in the top buckets.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

// What a request that matched no route is counted under: its URL would let any client create series.
const UNMATCHED = 'unmatched';

type Observe = (seconds: number) => void;
type Series = (method: string, statusCode: number) => Observe;

export interface HttpMetrics {
  /** Gives every route added to `app` from now on its timing hook; call it before any route is. */
  install(app: FastifyInstance): void;
  /** Times the answer to a request no route matched: the not-found and framework-error handlers call it. */
  readonly timeUnmatched: (request: FastifyRequest, reply: FastifyReply) => void;
}

/**
 * Times every response into `foretell_http_request_duration_seconds` by
 * route pattern, method and status code: all three are bounded (the routes,
 * the methods Node's parser accepts, 100–599), so no client can grow the
 * number of series.
 *
 * Each route gets its own onResponse hook, made when the route is added,
 * that knows its pattern: a global hook would have to ask Fastify for it on
 * every request (`request.routeOptions` builds a 12-field object each time),
 * then build and hash a key. Measured with cachegrind on a bare route, the
 * global hook cost about 7,000 instructions a request; this one, a lookup in
 * the route's own small table. A request no route matched has no route hook:
 * the handlers that answer it call `timeUnmatched`.
 */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const histogram = new CountingHistogram({
    name: METRICS.httpRequestDuration,
    help: 'Time from the start of a request to its response, in seconds, by route, method and status code.',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const seriesOf = (route: string): Series => {
    // Keyed by method then status code: a route has one or two methods, and a few codes.
    const byMethod = new Map<string, Observe[]>();
    return (method, statusCode) => {
      let byStatus = byMethod.get(method);
      if (byStatus === undefined) byMethod.set(method, (byStatus = []));
      return (byStatus[statusCode] ??= histogram.series({ route, method, status_code: String(statusCode) }));
    };
  };

  const unmatched = seriesOf(UNMATCHED);
  return {
    install(app) {
      app.addHook('onRoute', (route) => {
        const series = seriesOf(route.url);
        const timeRoute: onResponseHookHandler = (request, reply, done) => {
          series(request.method, reply.statusCode)(reply.elapsedTime / 1000);
          done();
        };
        route.onResponse = withHook(route.onResponse, timeRoute);
      });
    },
    timeUnmatched(request, reply) {
      // Rare (a mistyped URL, a scanner): one listener for this answer only.
      reply.raw.once('finish', () => unmatched(request.method, reply.statusCode)(reply.elapsedTime / 1000));
    },
  };
}

/** A route's onResponse hooks (none, one or several, as Fastify takes them) with `hook` after them. */
function withHook(hooks: RouteOptions['onResponse'], hook: onResponseHookHandler): onResponseHookHandler[] {
  if (hooks === undefined) return [hook];
  return [...(Array.isArray(hooks) ? hooks : [hooks]), hook];
}
