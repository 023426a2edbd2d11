import { createMockModel } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  memoryTracing,
  SpanKind,
  SpanStatusCode,
  type MemoryTracing,
} from '../../../packages/shared/test/memory-tracing.js';
import { acceptedId, injectClient } from '../../../test/support/predict-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildApp } from '../src/app.js';
import { TEST_CONFIG } from './build-test-app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

let opened: { t: TestRedis; app: FastifyInstance } | undefined;
afterEach(async () => {
  await opened?.app.close();
  await opened?.t.cleanup();
  opened = undefined;
});

async function tracedApp(): Promise<{ t: TestRedis; app: FastifyInstance; traces: MemoryTracing }> {
  const t = testRedis();
  const traces = memoryTracing('foretell-api');
  const app = await buildApp({
    config: { ...TEST_CONFIG, KEY_PREFIX: t.prefix },
    redis: t.redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    tracing: traces.tracing,
  });
  opened = { t, app };
  return { t, app, traces };
}

describe('the API with tracing on', () => {
  it("an async POST: server span under the client's, enqueue span under it, Redis call under that; the job keeps the enqueue span's traceparent", async () => {
    const { t, app, traces } = await tracedApp();
    const response = await injectClient(app).post(
      { input: 'traced' },
      { 'async-mode': 'true', 'x-request-id': 'order-1', traceparent: TRACEPARENT },
    );
    const id = acceptedId(response);
    const server = traces.span('POST /predict');
    const enqueue = traces.span(`enqueue ${t.keys.jobs}`);
    const script = traces.span('EVALSHA enqueue-job');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: CLIENT_SPAN });
    expect(server.attributes).toMatchObject({
      'http.route': '/predict',
      'http.response.status_code': 202,
      'foretell.request.id': 'order-1',
    });
    expect(enqueue.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(enqueue.attributes).toMatchObject({ 'foretell.job.id': id, 'foretell.enqueue.outcome': 'queued' });
    expect(script.parentSpanContext?.spanId).toBe(enqueue.spanContext().spanId);
    expect(script.attributes).toMatchObject({ 'db.system.name': 'redis', 'db.operation.name': 'EVALSHA' });

    const stored = `00-${TRACE_ID}-${enqueue.spanContext().spanId}-01`;
    expect(await t.redis.hmget(t.keys.job(id), 'request_id', 'traceparent')).toEqual(['order-1', stored]);
    const [[, fields]] = (await t.redis.xrange(t.keys.jobs, '-', '+')) as [[string, string[]]];
    expect(fields.slice(-4)).toEqual(['rid', 'order-1', 'tp', stored]);
  });

  it('an async POST without a traceparent starts a trace, and the job still carries it', async () => {
    const { t, app, traces } = await tracedApp();
    const id = await injectClient(app).submit('fresh');
    const server = traces.span('POST /predict');
    expect(server.parentSpanContext).toBeUndefined();
    const enqueue = traces.span(`enqueue ${t.keys.jobs}`);
    expect(await t.redis.hget(t.keys.job(id), 'traceparent')).toBe(
      `00-${server.spanContext().traceId}-${enqueue.spanContext().spanId}-01`,
    );
  });

  it('a sync POST: server span and a model span under it', async () => {
    const { app, traces } = await tracedApp();
    const response = await injectClient(app).post({ input: 'now' }, { traceparent: TRACEPARENT });
    expect(response.status).toBe(200);
    const server = traces.span('POST /predict');
    const model = traces.span('predict mock');
    expect(model.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(model.spanContext().traceId).toBe(TRACE_ID);
    expect(model.attributes).toMatchObject({ 'foretell.model.name': 'mock' });
  });

  it("a GET of a job: its Redis read is a client span under the request's", async () => {
    const { app, traces } = await tracedApp();
    const client = injectClient(app);
    const id = await client.submit('looked up');
    const lookup = await client.send({ method: 'GET', url: `/predict/${id}`, headers: { traceparent: TRACEPARENT } });
    expect(lookup.status).toBe(400);
    const server = traces.span('GET /predict/:prediction_id');
    const read = traces.span('HGETALL');
    expect(read.kind).toBe(SpanKind.CLIENT);
    expect(read.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(read.spanContext().traceId).toBe(TRACE_ID);
    expect(read.attributes).toMatchObject({ 'db.system.name': 'redis', 'db.operation.name': 'HGETALL' });
  });

  it('a refused request is a span with its status and no route; a 5xx is an error', async () => {
    const { t, app, traces } = await tracedApp();
    await injectClient(app).get('nope');
    await t.redis.quit();
    const down = await injectClient(app).post({ input: 'x' }, { 'async-mode': 'true' });
    expect(down.status).toBe(503);
    const spans = traces.spans().filter((span) => span.kind === SpanKind.SERVER);
    expect(spans.map((span) => [span.name, span.attributes['http.response.status_code'], span.status.code])).toEqual([
      ['GET /predict/:prediction_id', 404, SpanStatusCode.UNSET],
      ['POST /predict', 503, SpanStatusCode.ERROR],
    ]);
    expect(traces.span(`enqueue ${t.keys.jobs}`).status.code).toBe(SpanStatusCode.ERROR);
    // The app's connection is closed: it wrote nothing, there is nothing to clean up.
    opened = { t: { ...t, cleanup: async () => undefined }, app };
  });
});
