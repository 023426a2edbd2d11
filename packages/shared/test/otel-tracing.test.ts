import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadTracing, TracingConfigSchema } from '../src/index.js';
import { memoryTracing } from './memory-tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
const JOB = { stream: 'p:jobs', group: 'p:workers', entryId: '1-0', jobId: 'job-1', requestId: 'req-1' };

describe('the span of a job', () => {
  it('is a child of the span whose traceparent was stored with it, and links to it', async () => {
    const t = memoryTracing();
    await t.tracing.runJob({ ...JOB, traceparent: TRACEPARENT }, async () => undefined);
    const span = t.span('process p:jobs');
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: CLIENT_SPAN, isRemote: true });
    expect(span.links.map((link) => link.context)).toEqual([expect.objectContaining({ spanId: CLIENT_SPAN })]);
    expect(span.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'p:jobs',
      'messaging.consumer.group.name': 'p:workers',
      'messaging.message.id': '1-0',
      'foretell.job.id': 'job-1',
      'foretell.request.id': 'req-1',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('starts a trace of its own when nothing, or something invalid, was stored', async () => {
    const t = memoryTracing();
    await t.tracing.runJob({ ...JOB, traceparent: undefined }, async () => undefined);
    await t.tracing.runJob({ ...JOB, traceparent: `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01` }, async () => undefined);
    for (const span of t.spans()) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.links).toEqual([]);
    }
    expect(new Set(t.spans().map((span) => span.spanContext().traceId)).size).toBe(2);
  });

  it('is not recorded when the stored traceparent says the trace is not sampled', async () => {
    const t = memoryTracing();
    await t.tracing.runJob({ ...JOB, traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-00` }, async () => undefined);
    expect(t.spans()).toEqual([]);
  });

  it('is an error when the attempt failed or was retried, with the outcome, even from inside a Redis span', async () => {
    const t = memoryTracing();
    const outcomes = ['succeeded', 'failed', 'retried'] as const;
    for (const outcome of outcomes) {
      await t.tracing.runJob({ ...JOB, jobId: outcome, traceparent: TRACEPARENT }, () =>
        t.tracing.redisCall('EVALSHA', 'finish-jobs', async () => t.tracing.jobEnded(outcome, `reason ${outcome}`)),
      );
    }
    const jobs = t.spans().filter((span) => span.kind === SpanKind.CONSUMER);
    expect(jobs.map((span) => [span.attributes['foretell.job.outcome'], span.status])).toEqual([
      ['succeeded', { code: SpanStatusCode.UNSET }],
      ['failed', { code: SpanStatusCode.ERROR, message: 'reason failed' }],
      ['retried', { code: SpanStatusCode.ERROR, message: 'reason retried' }],
    ]);
    // The Redis spans themselves did not fail.
    for (const span of t.spans().filter((span) => span.kind === SpanKind.CLIENT)) {
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
  });

  it('records what the run threw, and lets it through', async () => {
    const t = memoryTracing();
    await expect(
      t.tracing.runJob({ ...JOB, traceparent: TRACEPARENT }, () => Promise.reject(new RangeError('boom'))),
    ).rejects.toThrow('boom');
    const span = t.span('process p:jobs');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(span.attributes['error.type']).toBe('RangeError');
    expect(span.events.map((event) => event.name)).toEqual(['exception']);
  });
});

describe('the spans inside a job or a request', () => {
  it('a Redis call and a model call are children of the span they run in, with their attributes', async () => {
    const t = memoryTracing();
    const model = t.tracing.traceModel({ name: 'mock', version: '1.0.0', predict: async (input) => `r:${input}` });
    await t.tracing.runJob({ ...JOB, traceparent: TRACEPARENT }, async () => {
      await t.tracing.redisCall('EVALSHA', 'start-jobs', async () => 1);
      expect(await model.predict('x', { signal: new AbortController().signal })).toBe('r:x');
    });
    const job = t.span('process p:jobs').spanContext();
    const redis = t.span('EVALSHA start-jobs');
    const predict = t.span('predict mock');
    expect(redis.kind).toBe(SpanKind.CLIENT);
    expect(redis.attributes).toEqual({
      'db.system.name': 'redis',
      'db.operation.name': 'EVALSHA',
      'db.stored_procedure.name': 'start-jobs',
    });
    expect(predict.attributes).toEqual({ 'foretell.model.name': 'mock', 'foretell.model.version': '1.0.0' });
    for (const span of [redis, predict]) {
      expect(span.parentSpanContext?.spanId).toBe(job.spanId);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
    }
  });

  it('a model call that fails is an error span', async () => {
    const t = memoryTracing();
    const model = t.tracing.traceModel({ predict: () => Promise.reject(new Error('no')) });
    await expect(model.predict('x', { signal: new AbortController().signal })).rejects.toThrow('no');
    expect(t.span('predict model').status).toEqual({ code: SpanStatusCode.ERROR, message: 'no' });
  });

  it("an enqueue is a producer span whose traceparent is what send stores, child of the request's span", async () => {
    const t = memoryTracing();
    const request = t.tracing.startRequest({
      method: 'POST',
      path: '/predict',
      requestId: 'req-1',
      traceparent: TRACEPARENT,
      tracestate: 'vendor=x',
    });
    let stored = '';
    await request.run(() =>
      t.tracing.enqueue('p:jobs', 'job-1', async (traceparent) => {
        stored = traceparent;
        return t.tracing.redisCall('EVALSHA', 'enqueue-job', async () => ({ outcome: 'queued', id: 'job-1' }));
      }),
    );
    request.end(202, '/predict');
    const server = t.span('POST /predict');
    const enqueue = t.span('enqueue p:jobs');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.parentSpanContext).toMatchObject({ spanId: CLIENT_SPAN, isRemote: true });
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/predict',
      'http.response.status_code': 202,
      'url.path': '/predict',
      'foretell.request.id': 'req-1',
    });
    expect(enqueue.kind).toBe(SpanKind.PRODUCER);
    expect(enqueue.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(enqueue.attributes).toMatchObject({ 'foretell.job.id': 'job-1', 'foretell.enqueue.outcome': 'queued' });
    expect(stored).toBe(`00-${TRACE_ID}-${enqueue.spanContext().spanId}-01`);
    expect(t.span('EVALSHA enqueue-job').parentSpanContext?.spanId).toBe(enqueue.spanContext().spanId);
  });

  it('a request span is an error for a 5xx only, and ends once', async () => {
    const t = memoryTracing();
    for (const status of [404, 503]) {
      const span = t.tracing.startRequest({
        method: 'GET',
        path: '/x',
        requestId: 'r',
        traceparent: 'not one',
        tracestate: undefined,
      });
      span.end(status, undefined);
      span.end(200, '/again');
    }
    expect(
      t.spans().map((span) => [span.name, span.attributes['http.response.status_code'], span.status.code]),
    ).toEqual([
      ['GET', 404, SpanStatusCode.UNSET],
      ['GET', 503, SpanStatusCode.ERROR],
    ]);
    for (const span of t.spans()) expect(span.parentSpanContext).toBeUndefined();
  });
});

describe('tracing configuration', () => {
  const schema = TracingConfigSchema;

  it('off without an endpoint: loadTracing gives nothing', async () => {
    const config = loadConfig(schema, {});
    expect(await loadTracing(config, 'foretell-api', { warn: () => undefined })).toBeUndefined();
  });

  it('an endpoint that is not an http(s) URL fails the start with one line naming it', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig(schema, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_BSP_SCHEDULE_DELAY: '0' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: .*\(got "collector:4318"\)$/),
      expect.stringMatching(/^OTEL_BSP_SCHEDULE_DELAY: must be >= 1/),
    ]);
  });
});
