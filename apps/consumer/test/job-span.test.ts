import { afterEach, describe, expect, it } from 'vitest';
import {
  memoryTracing,
  SpanKind,
  SpanStatusCode,
  type ReadableSpan,
} from '../../../packages/shared/test/memory-tracing.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { traceJobRuns } from '../src/job-span.js';
import { harnessPool } from './consumer-harness.js';

const harnesses = harnessPool();
afterEach(() => harnesses.disposeAll());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const API_SPAN = '00f067aa0ba902b7';
const TRACE = { requestId: 'checkout-42', traceparent: `00-${TRACE_ID}-${API_SPAN}-01` };

const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId).map((span) => span.name);

describe("a job's span in the consumer", () => {
  it("is in the request's trace, child of and linked to the stored span; the model and script calls are under it", async () => {
    const traces = memoryTracing('foretell-consumer');
    const model = traces.tracing.traceModel({ name: 'echo', version: '1', predict: async (input) => `ok:${input}` });
    const h = harnesses.create({ model, tracing: traces.tracing });
    await h.consumer.start();
    const id = await h.enqueue('traced', 3600, TRACE);
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'the job' });
    const job = await waitFor(() => traces.spans().find((span) => span.kind === SpanKind.CONSUMER), {
      what: 'the job span',
    });
    expect(job.name).toBe(`process ${h.keys.jobs}`);
    expect(job.spanContext().traceId).toBe(TRACE_ID);
    expect(job.parentSpanContext?.spanId).toBe(API_SPAN);
    expect(job.links.map((link) => link.context.spanId)).toEqual([API_SPAN]);
    expect(job.attributes).toMatchObject({
      'foretell.job.id': id,
      'foretell.request.id': 'checkout-42',
      'foretell.job.outcome': 'succeeded',
      'messaging.consumer.group.name': h.keys.group,
    });
    expect(job.status.code).toBe(SpanStatusCode.UNSET);
    expect(childrenOf(traces.spans(), job).sort()).toEqual([
      'EVALSHA finish-jobs',
      'EVALSHA start-jobs',
      'predict echo',
    ]);
  });

  it('is an error when the job fails for good, and so is its model call; a retried attempt is one too', async () => {
    const traces = memoryTracing('foretell-consumer');
    let calls = 0;
    const model = traces.tracing.traceModel({
      name: 'flaky',
      predict: () => Promise.reject(new Error(calls++ === 0 ? 'first call fails' : 'still failing')),
    });
    const h = harnesses.create({
      model,
      tracing: traces.tracing,
      settings: { retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('doomed', 3600, TRACE);
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'the failure' });
    const jobs = await waitFor(
      () => {
        const found = traces.spans().filter((span) => span.kind === SpanKind.CONSUMER);
        return found.length === 2 ? found : undefined;
      },
      { what: 'two job spans' },
    );
    expect(jobs.map((span) => [span.attributes['foretell.job.outcome'], span.status])).toEqual([
      ['retried', { code: SpanStatusCode.ERROR, message: 'first call fails' }],
      ['failed', { code: SpanStatusCode.ERROR, message: 'still failing' }],
    ]);
    // Both attempts belong to the request's trace, under the same stored span.
    for (const span of jobs) expect(span.parentSpanContext?.spanId).toBe(API_SPAN);
    expect(childrenOf(traces.spans(), jobs[0] as ReadableSpan)).toContain('EVALSHA retry-job');
    const predictions = traces.spans().filter((span) => span.name === 'predict flaky');
    expect(predictions.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
  });

  it('without tracing, the runner is left as it is: nothing is added to the run of a job', () => {
    const runner = async () => undefined;
    const h = harnesses.create({});
    expect(traceJobRuns(runner, undefined, h.keys)).toBe(runner);
  });
});
