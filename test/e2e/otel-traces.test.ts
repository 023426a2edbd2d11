import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForApi, waitForLog, type AppProcess } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { acceptedId, fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// The real api and consumer export their spans to an OTLP/HTTP endpoint in
// this process; the job's span must be in the trace of the request that
// queued it. Without the endpoint, no OpenTelemetry module may even be loaded:
// a preloaded resolve hook reports each one the process resolves.

const apps = useAppsOnPrefix('e2e-otel');
const WATCH = `--import=${fileURLToPath(new URL('../fixtures/otel-import-watch.mjs', import.meta.url))}`;
const INSTANT_MODEL = { MODEL_MIN_LATENCY_MS: '0', MODEL_MAX_LATENCY_MS: '0', NODE_OPTIONS: WATCH };
const ASYNC_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SYNC_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId: string) => `00-${traceId}-${CLIENT_SPAN}-01`;
// OTLP's span kinds.
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const otelModules = (app: AppProcess) => app.lines.filter((line) => line.startsWith('opentelemetry module resolved:'));

/** The one span matching `where`; fails naming those received. */
function only(spans: readonly ReceivedSpan[], where: Partial<ReceivedSpan>): ReceivedSpan {
  const found = spans.filter((span) =>
    Object.entries(where).every(([key, value]) => span[key as keyof ReceivedSpan] === value),
  );
  if (found.length !== 1) {
    const seen = spans.map((span) => `${span.service} ${span.name} ${span.traceId}`).join('\n  ');
    throw new Error(`${found.length} spans match ${JSON.stringify(where)}; received:\n  ${seen}`);
  }
  return found[0] as ReceivedSpan;
}

async function startBoth(env: Record<string, string>, consumerEnv: Record<string, string> = {}) {
  const port = await freePort();
  const api = apps.start('api', { ...INSTANT_MODEL, ...env, PORT: String(port), HOST: '127.0.0.1' });
  const consumer = apps.start('consumer', {
    ...INSTANT_MODEL,
    ...env,
    ...consumerEnv,
    CONSUMER_NAME: `${apps.prefix}-consumer`,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForApi(base, '/ready', () => {
    api.assertRunning();
    consumer.assertRunning();
  });
  return { api, consumer, client: fetchClient(base) };
}

describe('OpenTelemetry traces', () => {
  it("with an OTLP endpoint: the job's span is in the request's trace, under the API's enqueue span", async () => {
    receiver = await startOtlpReceiver();
    const spans = receiver.spans;
    const { api, consumer, client } = await startBoth(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' },
      { LOG_LEVEL: 'debug' },
    );
    const unless = () => {
      api.assertRunning();
      consumer.assertRunning();
    };

    const id = acceptedId(
      await client.post(
        { input: 'traced' },
        { 'async-mode': 'true', 'x-request-id': 'order-9', traceparent: traceparent(ASYNC_TRACE) },
      ),
    );
    await waitFor(async () => (await client.get(id)).status === 200, { what: 'the job', unless });
    expect((await client.post({ input: 'now' }, { traceparent: traceparent(SYNC_TRACE) })).status).toBe(200);

    const jobs = `${apps.prefix}:jobs`;
    // The consumer's three spans under the job's end last: once they and the sync model's span are in, all are.
    await waitFor(
      () =>
        spans.filter((span) => span.service === 'foretell-consumer' && span.traceId === ASYNC_TRACE).length >= 4 &&
        spans.some((span) => span.service === 'foretell-api' && span.traceId === SYNC_TRACE && span.kind === SERVER),
      { what: 'the spans of both requests', unless },
    );

    const request = only(spans, { service: 'foretell-api', traceId: ASYNC_TRACE, kind: SERVER });
    expect(request).toMatchObject({ name: 'POST /predict', parentSpanId: CLIENT_SPAN });
    expect(request.attributes).toMatchObject({ 'http.response.status_code': 202, 'foretell.request.id': 'order-9' });
    const enqueue = only(spans, { service: 'foretell-api', traceId: ASYNC_TRACE, kind: PRODUCER });
    expect(enqueue).toMatchObject({ name: `enqueue ${jobs}`, parentSpanId: request.spanId });
    expect(enqueue.attributes).toMatchObject({ 'foretell.job.id': id, 'messaging.destination.name': jobs });
    const script = only(spans, { service: 'foretell-api', traceId: ASYNC_TRACE, kind: CLIENT });
    expect(script).toMatchObject({ name: 'EVALSHA enqueue-job', parentSpanId: enqueue.spanId });
    expect(script.attributes).toMatchObject({ 'db.system.name': 'redis', 'db.operation.name': 'EVALSHA' });

    const job = only(spans, { service: 'foretell-consumer', kind: CONSUMER });
    expect(job).toMatchObject({ name: `process ${jobs}`, traceId: ASYNC_TRACE, parentSpanId: enqueue.spanId });
    expect(job.links).toEqual([{ traceId: ASYNC_TRACE, spanId: enqueue.spanId }]);
    expect(job.attributes).toMatchObject({
      'foretell.job.id': id,
      'foretell.request.id': 'order-9',
      'foretell.job.outcome': 'succeeded',
    });
    const underJob = spans.filter((span) => span.parentSpanId === job.spanId);
    expect(underJob.map((span) => span.name).sort()).toEqual([
      'EVALSHA finish-jobs',
      'EVALSHA start-jobs',
      'predict mock',
    ]);
    for (const span of underJob) expect(span).toMatchObject({ service: 'foretell-consumer', traceId: ASYNC_TRACE });
    expect(underJob.filter((span) => span.kind === CLIENT).map((span) => span.attributes['db.system.name'])).toEqual([
      'redis',
      'redis',
    ]);
    // What the job carried, and what the consumer logs of it, is the enqueue span's context, not the client's.
    expect(JSON.parse(await waitForLog(consumer, 'job succeeded'))).toMatchObject({
      jobId: id,
      requestId: 'order-9',
      traceparent: `00-${ASYNC_TRACE}-${enqueue.spanId}-01`,
    });

    const sync = only(spans, { service: 'foretell-api', traceId: SYNC_TRACE, kind: SERVER });
    expect(sync).toMatchObject({ name: 'POST /predict', parentSpanId: CLIENT_SPAN });
    expect(only(spans, { traceId: SYNC_TRACE, name: 'predict mock' })).toMatchObject({
      service: 'foretell-api',
      parentSpanId: sync.spanId,
    });
    // The watch works: with tracing on, it saw the SDK being loaded.
    expect(otelModules(api).length).toBeGreaterThan(0);
  });

  it('spans still buffered are exported when the processes stop', async () => {
    receiver = await startOtlpReceiver();
    // No export before an hour: only the flush on shutdown can deliver them.
    const { api, consumer, client } = await startBoth({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '3600000',
      OTEL_SERVICE_NAME: 'renamed',
    });
    const id = await client.submit('flushed', { traceparent: traceparent(ASYNC_TRACE) });
    await waitFor(async () => (await client.get(id)).status === 200, { what: 'the job' });
    expect(receiver.spans).toEqual([]);
    api.child.kill('SIGTERM');
    consumer.child.kill('SIGTERM');
    expect([await api.exited, await consumer.exited]).toEqual([0, 0]);
    const job = only(receiver.spans, { kind: CONSUMER });
    expect(job).toMatchObject({ service: 'renamed', traceId: ASYNC_TRACE });
    expect(only(receiver.spans, { kind: PRODUCER }).spanId).toBe(job.parentSpanId);
  });

  it('without an endpoint: nothing is exported, no OpenTelemetry module is loaded, the client traceparent is passed on', async () => {
    receiver = await startOtlpReceiver();
    const { api, consumer, client } = await startBoth(
      // Empty is unset (as `OTEL_EXPORTER_OTLP_ENDPOINT=` in docker compose); the others alone do not turn tracing on.
      { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: 'unused', OTEL_BSP_SCHEDULE_DELAY: '1' },
      { LOG_LEVEL: 'debug' },
    );
    const id = await client.submit('untraced', { traceparent: traceparent(ASYNC_TRACE), 'x-request-id': 'order-0' });
    await waitFor(async () => (await client.get(id)).status === 200, { what: 'the job' });
    expect((await client.post({ input: 'now' }, { traceparent: traceparent(SYNC_TRACE) })).status).toBe(200);
    const done = await waitForLog(consumer, 'job succeeded');
    expect(JSON.parse(done)).toMatchObject({ jobId: id, requestId: 'order-0', traceparent: traceparent(ASYNC_TRACE) });
    expect(otelModules(api)).toEqual([]);
    expect(otelModules(consumer)).toEqual([]);
    api.child.kill('SIGTERM');
    consumer.child.kill('SIGTERM');
    expect([await api.exited, await consumer.exited]).toEqual([0, 0]);
    expect(receiver.requests).toBe(0);
  });
});
