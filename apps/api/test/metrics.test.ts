import { METRICS, QUEUE_METRIC_NAMES } from '@foretell/shared';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { logCommandsOn } from '../../../test/support/command-log.js';
import { parseMetrics, type Scrape } from '../../../test/support/metrics-text.js';
import { freePort } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { heldModel } from '../../../test/support/held-model.js';
import { buildTestApp, useTestApp } from './build-test-app.js';

const ctx = useTestApp();

async function scrape(): Promise<Scrape> {
  const response = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return parseMetrics(response.body);
}

const predictions = (s: Scrape, mode: string, outcome: string) => s.value(METRICS.predictions, { mode, outcome });
const requests = (s: Scrape, route: string, method: string, status: number) =>
  s.count(METRICS.httpRequestDuration, { route, method, status_code: String(status) });

describe('GET /metrics on the API', () => {
  it("answers Prometheus's text format with the API's metrics and the queue's, every prediction series at 0", async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const s = parseMetrics(response.body);
    expect(s.names).toEqual(
      expect.arrayContaining([
        METRICS.httpRequestDuration,
        METRICS.predictions,
        METRICS.modelDuration,
        ...QUEUE_METRIC_NAMES,
      ]),
    );
    expect(s.family(METRICS.httpRequestDuration)?.type).toBe('HISTOGRAM');
    expect(s.family(METRICS.modelDuration)?.type).toBe('HISTOGRAM');
    expect(s.family(METRICS.predictions)?.type).toBe('COUNTER');
    for (const [mode, outcome] of [
      ['sync', 'succeeded'],
      ['sync', 'failed'],
      ['sync', 'timed_out'],
      ['sync', 'refused'],
      ['async', 'queued'],
      ['async', 'replayed'],
      ['async', 'refused'],
    ] as const) {
      expect(predictions(s, mode, outcome), `${mode} ${outcome}`).toBe(0);
    }
  });

  it('counts requests by route pattern, method and status, and predictions by mode and outcome', async () => {
    for (const input of ['a', 'b', 'c']) expect((await ctx.client.post({ input })).status).toBe(200);
    expect((await ctx.client.post({ inpt: 'typo' })).status).toBe(400);
    const first = await ctx.client.submit('queued 1');
    await ctx.client.submit('queued 2');
    await ctx.client.submit('once', { 'idempotency-key': 'k-1' });
    await ctx.client.submit('once', { 'idempotency-key': 'k-1' });
    expect((await ctx.client.get(first)).status).toBe(400);
    expect((await ctx.client.get('3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11')).status).toBe(404);

    const s = await scrape();
    expect(requests(s, '/predict', 'POST', 200)).toBe(3);
    expect(requests(s, '/predict', 'POST', 400)).toBe(1);
    expect(requests(s, '/predict', 'POST', 202)).toBe(4);
    expect(requests(s, '/predict/:prediction_id', 'GET', 400)).toBe(1);
    expect(requests(s, '/predict/:prediction_id', 'GET', 404)).toBe(1);
    expect(predictions(s, 'sync', 'succeeded')).toBe(3);
    expect(predictions(s, 'async', 'queued')).toBe(3);
    expect(predictions(s, 'async', 'replayed')).toBe(1);
    // The model ran for the sync requests only (no consumer here).
    expect(s.count(METRICS.modelDuration)).toBe(3);
  });

  it('counts a URL no route matches as "unmatched": no client can create series', async () => {
    for (let i = 0; i < 50; i += 1) {
      expect((await ctx.app.inject({ method: 'GET', url: `/nothing-here-${i}?q=${i}` })).statusCode).toBe(404);
    }
    const s = await scrape();
    expect(requests(s, 'unmatched', 'GET', 404)).toBe(50);
    const series = s.family(METRICS.httpRequestDuration)?.metrics ?? [];
    expect(series.filter((sample) => sample.labels?.route?.includes('nothing'))).toEqual([]);
  });

  it("counts a URL refused before routing as unmatched, and every route's requests under its own pattern", async () => {
    // A malformed percent-encoding never reaches the router (Fastify's frameworkErrors).
    expect((await ctx.app.inject({ method: 'GET', url: '/nothing/%zz' })).statusCode).toBe(404);
    expect((await ctx.app.inject({ method: 'GET', url: '/predict/%zz' })).statusCode).toBe(404);
    // Routes added by plugins and by Fastify itself (HEAD) are timed as well as ours.
    expect((await ctx.app.inject({ method: 'HEAD', url: '/health' })).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);

    const s = await scrape();
    expect(requests(s, 'unmatched', 'GET', 404)).toBe(2);
    expect(requests(s, '/health', 'HEAD', 200)).toBe(1);
    expect(requests(s, '/health', 'GET', 200)).toBe(1);
    expect(requests(s, '/docs/json', 'GET', 200)).toBe(1);
  });

  it('counts sync failures, timeouts and refusals, and async refusals', async () => {
    const model = heldModel();
    await ctx.rebuild({ model, config: { SYNC_TIMEOUT_MS: 100, MAX_SYNC_IN_FLIGHT: 1, MAX_QUEUE_LENGTH: 1 } });
    // Held past the timeout: 504; meanwhile a second sync request finds no room: 503.
    const slow = ctx.client.post({ input: 'slow' });
    await waitFor(() => model.held() === 1, { what: 'the held call' });
    expect((await ctx.client.post({ input: 'crowded' })).status).toBe(503);
    expect((await slow).status).toBe(504);
    await ctx.client.submit('fills the queue');
    expect((await ctx.client.post({ input: 'full' }, { 'async-mode': 'true' })).status).toBe(503);
    model.releaseAll();

    const failing = { ...heldModel(), predict: () => Promise.reject(new Error('broken')) };
    await ctx.rebuild({ model: failing });
    expect((await ctx.client.post({ input: 'x' })).status).toBe(500);

    // Each app has its own counts: the failure is the new app's, the rest the first one's.
    const s = await scrape();
    expect(predictions(s, 'sync', 'failed')).toBe(1);
    expect(s.count(METRICS.modelDuration)).toBe(1);
  });

  it('reads the queue gauges from Redis: they match XLEN, XPENDING, the retries and the dead letters', async () => {
    const { redis, keys } = ctx.t;
    for (let i = 0; i < 3; i += 1) await ctx.client.submit(`job ${i}`);
    let s = await scrape();
    // No group yet: every entry is lag.
    expect([s.value(METRICS.queueLength), s.value(METRICS.queuePending), s.value(METRICS.queueLag)]).toEqual([3, 0, 3]);

    await redis.xgroup('CREATE', keys.jobs, keys.group, '0');
    await redis.xreadgroup('GROUP', keys.group, 'c1', 'COUNT', 1, 'STREAMS', keys.jobs, '>');
    await redis.zadd(keys.retries, Date.now() + 60_000, 'r1', Date.now() + 60_000, 'r2');
    await redis.xadd(keys.dead, '*', 'id', 'x', 'reason', 'r');
    // After the cache's second.
    await waitFor(async () => (s = await scrape()).value(METRICS.queuePending) === 1, { what: 'a fresh read' });
    const [pending] = (await redis.xpending(keys.jobs, keys.group)) as [number];
    expect(s.value(METRICS.queueLength)).toBe(await redis.xlen(keys.jobs));
    expect(s.value(METRICS.queuePending)).toBe(pending);
    expect(s.value(METRICS.queueLag)).toBe(2);
    expect(s.value(METRICS.retriesScheduled)).toBe(2);
    expect(s.value(METRICS.deadLetters)).toBe(1);
    expect(s.value(METRICS.queueOldestAge)).toBeGreaterThanOrEqual(0);
    expect(s.value(METRICS.queueOldestAge)).toBeLessThan(60);
  });

  it('reads Redis once a second however often it is scraped', async () => {
    const { redis, keys } = ctx.t;
    const log = logCommandsOn(redis, keys.jobs);
    try {
      await log.ready;
      const isRead = (command: readonly string[]) => command[0] === 'xinfo';
      const started = Date.now();
      await Promise.all(Array.from({ length: 20 }, () => scrape()));
      for (let i = 0; i < 10; i += 1) await scrape();
      const elapsed = Date.now() - started;
      // One read per second begun (the scrapes took `elapsed`), never one per scrape.
      await waitFor(() => log.count(isRead) >= 1, { what: 'the read to show in MONITOR' });
      expect(log.count(isRead)).toBeLessThanOrEqual(1 + Math.floor(elapsed / 1000));
    } finally {
      log.close();
    }
  });

  it('answers at once with NaN queue gauges when Redis does not answer, and the rest of its metrics', async () => {
    const dead = new Redis({
      port: await freePort(),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    dead.on('error', () => undefined);
    const app = await buildTestApp(dead, ctx.t.prefix);
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      const s = parseMetrics(response.body);
      for (const name of QUEUE_METRIC_NAMES) expect(s.value(name), name).toBeNaN();
      expect(s.value(METRICS.predictions, { mode: 'sync', outcome: 'succeeded' })).toBe(0);
    } finally {
      await app.close();
      dead.disconnect();
    }
  });
});
