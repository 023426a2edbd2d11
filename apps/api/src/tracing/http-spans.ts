import type { RequestSpan, Tracing } from '@foretell/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';

function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * A server span for every request, from its arrival to its answer. It is made
 * the active span only in `preHandler`: the body is read in events of the
 * socket, outside the request's async context, so a span made active in
 * `onRequest` would be lost by then. Fastify calls the handler from the last
 * `preHandler`'s `done`, so the handler, and all it awaits, run inside it.
 */
export function installHttpSpans(app: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, RequestSpan>();
  app.addHook('onRequest', (request, _reply, done) => {
    spans.set(
      request,
      tracing.startRequest({
        method: request.method,
        path: request.url.split('?', 1)[0] ?? request.url,
        requestId: request.id,
        traceparent: headerValue(request.headers.traceparent),
        tracestate: headerValue(request.headers.tracestate),
      }),
    );
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) span.run(() => done());
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    spans.get(request)?.end(reply.statusCode, request.routeOptions.url);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    spans.get(request)?.end(undefined, request.routeOptions.url);
    done();
  });
}
