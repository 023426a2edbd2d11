import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  FORETELL_VERSION,
  METRICS,
  QUEUE_METRIC_NAMES,
  redisKeys,
} from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { waitForApi, waitForLog } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { parseMetrics, type Scrape } from '../support/metrics-text.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// The consumer's own port (METRICS_PORT): /metrics, /health, /ready, from the
// real processes. The lifecycle fixture answers at once and refuses the input
// "fail" (a retryable error), so one run shows every common outcome.

const apps = useAppsOnPrefix('e2e-consumer-metrics');
const LIFECYCLE = { MODEL_MODULE: 'test/fixtures/model-lifecycle.mjs', FIXTURE_LIFECYCLE_LOG: '/dev/null' };

async function scrape(base: string): Promise<Scrape> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseMetrics(await response.text());
}

const jobs = (s: Scrape, outcome: string) => s.value(METRICS.jobs, { outcome });

describe("the consumer's metrics port", () => {
  it('counts jobs by outcome and model calls, and its queue gauges match Redis; /health and /ready answer', async () => {
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    const api = apps.start('api', { ...LIFECYCLE, PORT: String(apiPort), HOST: '127.0.0.1' });
    const consumer = apps.start('consumer', {
      ...LIFECYCLE,
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      MAX_ATTEMPTS: '2',
      RETRY_BASE_DELAY_MS: '0',
      RETRY_MAX_DELAY_MS: '0',
      CONSUMER_NAME: `${apps.prefix}-consumer`,
    });
    const metrics = `http://127.0.0.1:${metricsPort}`;
    await waitForApi(metrics, '/ready', () => consumer.assertRunning());
    await waitForApi(`http://127.0.0.1:${apiPort}`, '/ready', () => api.assertRunning());
    const health = await fetch(`${metrics}/health`);
    expect([health.status, await health.text()]).toEqual([200, `{"status":"ok","version":"${FORETELL_VERSION}"}`]);
    const ready = await fetch(`${metrics}/ready`);
    expect([ready.status, await ready.text()]).toEqual([200, '{"status":"ready"}']);

    const client = fetchClient(`http://127.0.0.1:${apiPort}`);
    const ids = [
      await client.submit('a'),
      await client.submit('b'),
      await client.submit('c'),
      await client.submit('fail'),
    ];
    await waitFor(async () => (await Promise.all(ids.map((id) => client.get(id)))).every((r) => r.status !== 400), {
      what: 'every job to finish',
      unless: () => consumer.assertRunning(),
    });

    const s = await scrape(metrics);
    expect([jobs(s, 'succeeded'), jobs(s, 'retried'), jobs(s, 'failed'), jobs(s, 'dead_lettered')]).toEqual([
      3, 1, 1, 1,
    ]);
    expect([jobs(s, 'reclaimed'), jobs(s, 'expired')]).toEqual([0, 0]);
    // Three inputs once, "fail" twice.
    expect(s.count(METRICS.modelDuration)).toBe(5);
    expect(s.value(METRICS.jobsInFlight)).toBe(0);
    const keys = redisKeys(apps.prefix);
    expect(s.value(METRICS.queueLength)).toBe(await apps.redis.xlen(keys.jobs));
    expect(s.value(METRICS.deadLetters)).toBe(await apps.redis.xlen(keys.dead));
    expect(s.names).toEqual(expect.arrayContaining([...QUEUE_METRIC_NAMES, 'process_cpu_user_seconds_total']));

    const unknown = await fetch(`${metrics}/predict`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toHaveProperty('error');
    const posted = await fetch(`${metrics}/metrics`, { method: 'POST' });
    expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('answers while the consumer drains: /ready 503 at once, /metrics still served; it exits 0 after', async () => {
    const metricsPort = await freePort();
    const consumer = apps.start('consumer', {
      MODEL_MIN_LATENCY_MS: '1500',
      MODEL_MAX_LATENCY_MS: '1500',
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      CONSUMER_NAME: `${apps.prefix}-draining`,
    });
    const metrics = `http://127.0.0.1:${metricsPort}`;
    await waitForApi(metrics, '/ready', () => consumer.assertRunning());
    const keys = redisKeys(apps.prefix);
    // Queued as the API queues it (its script), without an API.
    const id = randomUUID();
    await apps.redis.eval(
      ENQUEUE_JOB_LUA,
      ...enqueueJobArgs(keys, { id, input: 'slow', ttlSeconds: 3600, maxQueueLength: 0, maxQueueBytes: 0 }),
    );
    await waitFor(async () => (await apps.redis.hget(keys.job(id), 'status')) === 'processing', {
      what: 'the job to run',
      unless: () => consumer.assertRunning(),
    });

    consumer.child.kill('SIGTERM');
    await waitForLog(consumer, 'shutting down: no new jobs, finishing the ones in hand');
    const ready = await fetch(`${metrics}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      error: 'Stopping: finishing the jobs in hand, taking no new ones.',
      code: 'NOT_READY',
    });
    expect((await scrape(metrics)).value(METRICS.jobsInFlight)).toBe(1);
    expect(await consumer.exited).toBe(0);
    expect(await apps.redis.hget(keys.job(id), 'status')).toBe('succeeded');
  });

  it('refuses to start on a port in use, with one line naming METRICS_PORT', async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      const consumer = apps.start('consumer', { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
      expect(await consumer.exited).toBe(1);
      const errors = consumer.lines.filter((line) => !consumer.stdout.includes(line));
      expect(errors).toEqual([
        `foretell consumer: METRICS_PORT: 127.0.0.1:${port} is already in use; stop what listens there, or set METRICS_PORT to a free port (0: any).`,
      ]);
    } finally {
      holder.close();
    }
  });
});
