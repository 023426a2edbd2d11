// Live events (GET /predict/{id}/events) on the real app listening on a real
// port, with real Redis. A job is started and finished here as the consumers'
// scripts do it: the hash first, then the id on `{prefix}:started` or
// `{prefix}:done` (the e2e test runs real consumers). Every step waits on the
// events received, never on time.
import { createMockModel, MESSAGES, redisKeys } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { injectClient, type PredictClient } from '../../../test/support/predict-client.js';
import { openSse } from '../../../test/support/sse-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildAppWithNotifier, type AppDeps } from '../src/app.js';
import type { JobNotifier } from '../src/waiting/job-notifier.js';
import { TEST_CONFIG } from './build-test-app.js';
import { bearer, KEY_A, KEY_B } from './keyed-app.js';

let t: TestRedis;
let apps: FastifyInstance[];

beforeEach(() => {
  t = testRedis();
  apps = [];
});

afterEach(async () => {
  try {
    await Promise.all(apps.map((app) => app.close()));
  } finally {
    await t.cleanup();
  }
});

interface Listening {
  readonly app: FastifyInstance;
  readonly notifier: JobNotifier;
  readonly client: PredictClient;
  readonly base: string;
}

async function listen(config: Partial<AppDeps['config']> = {}, apiKeys: string[] = []): Promise<Listening> {
  const { app, notifier } = await buildAppWithNotifier({
    config: { ...TEST_CONFIG, ...config, KEY_PREFIX: t.prefix },
    redis: t.redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    apiKeys,
  });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, notifier, client: injectClient(app), base: `http://127.0.0.1:${port}` };
}

/** What start-jobs does: the hash says processing, then the id is announced. */
async function start(id: string): Promise<void> {
  await t.redis.hset(t.keys.job(id), 'status', 'processing', 'started', String(Date.now()));
  await t.redis.publish(t.keys.started, id);
}

/** What finish-jobs does for an outcome: the hash, then the id on `done`. */
async function finish(id: string, outcome: 'succeeded' | 'failed', value: string): Promise<void> {
  const field = outcome === 'succeeded' ? 'result' : 'reason';
  await t.redis.hset(t.keys.job(id), 'status', outcome, field, value, 'finished', String(Date.now()));
  await t.redis.publish(t.keys.done, id);
}

const events = (base: string, id: string, headers: Record<string, string> = {}) =>
  openSse(`${base}/predict/${id}/events`, headers);

describe('GET /predict/{id}/events', () => {
  it('sends queued, processing, then succeeded with the GET body, and ends', async () => {
    const { base, client, notifier } = await listen();
    const id = await client.submit('hello');
    const stream = await events(base, id);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['cache-control']).toBe('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(await stream.received(1)).toEqual([
      { id: '1', event: 'queued', data: { prediction_id: id, status: 'queued' } },
    ]);
    expect(notifier.waiters()).toBe(1);
    await start(id);
    expect((await stream.received(2))[1]).toEqual({
      id: '2',
      event: 'processing',
      data: { prediction_id: id, status: 'processing' },
    });
    await finish(id, 'succeeded', 'positive');
    await stream.ended;
    const got = await client.send({ method: 'GET', url: `/predict/${id}` });
    expect(got.status).toBe(200);
    expect(stream.events).toEqual([
      expect.objectContaining({ event: 'queued' }),
      expect.objectContaining({ event: 'processing' }),
      { id: '3', event: 'succeeded', data: JSON.parse(got.body) as unknown },
    ]);
    await waitFor(() => notifier.waiters() === 0, { what: 'no waiter left' });
  });

  it('sends failed with the 500 body of GET', async () => {
    const { base, client } = await listen();
    const id = await client.submit('doomed');
    await start(id);
    const stream = await events(base, id);
    await stream.received(1);
    await finish(id, 'failed', 'The model failed to make a prediction.');
    await stream.ended;
    const got = await client.send({ method: 'GET', url: `/predict/${id}` });
    expect(got.status).toBe(500);
    expect(stream.events).toEqual([
      { id: '2', event: 'processing', data: { prediction_id: id, status: 'processing' } },
      { id: '3', event: 'failed', data: JSON.parse(got.body) as unknown },
    ]);
  });

  it('shows processing even when the job started and finished between two reads', async () => {
    const { base, client } = await listen();
    const id = await client.submit('quick');
    const stream = await events(base, id);
    await stream.received(1);
    // Not announced as started: the finish alone must still show the step.
    await t.redis.hset(t.keys.job(id), 'status', 'processing');
    await finish(id, 'succeeded', 'positive');
    await stream.ended;
    expect(stream.events.map((event) => [event.id, event.event])).toEqual([
      ['1', 'queued'],
      ['2', 'processing'],
      ['3', 'succeeded'],
    ]);
  });

  it('a job already finished: its outcome alone, then the end', async () => {
    const { base, client, notifier } = await listen();
    const id = await client.submit('done');
    await start(id);
    await finish(id, 'succeeded', 'positive');
    const stream = await events(base, id);
    await stream.ended;
    expect(stream.events.map((event) => [event.id, event.event])).toEqual([['3', 'succeeded']]);
    expect(notifier.waiters()).toBe(0);
  });

  describe('resuming with Last-Event-ID', () => {
    it('sends only what came after it', async () => {
      const { base, client } = await listen();
      const id = await client.submit('resumed');
      const first = await events(base, id);
      await first.received(1);
      first.close();
      await start(id);
      const second = await events(base, id, { 'last-event-id': '1' });
      expect((await second.received(1)).map((event) => event.event)).toEqual(['processing']);
      await finish(id, 'succeeded', 'positive');
      await second.ended;
      expect(second.events.map((event) => [event.id, event.event])).toEqual([
        ['2', 'processing'],
        ['3', 'succeeded'],
      ]);
    });

    it('sends the steps missed while away', async () => {
      const { base, client } = await listen();
      const id = await client.submit('away');
      await start(id);
      await finish(id, 'succeeded', 'positive');
      const stream = await events(base, id, { 'last-event-id': '1' });
      await stream.ended;
      expect(stream.events.map((event) => event.event)).toEqual(['processing', 'succeeded']);
    });

    it('after the terminal event: nothing, and the stream ends at once', async () => {
      const { base, client, notifier } = await listen();
      const id = await client.submit('over');
      await start(id);
      await finish(id, 'failed', 'The model failed to make a prediction.');
      const stream = await events(base, id, { 'last-event-id': '3' });
      await stream.ended;
      expect(stream.status).toBe(200);
      expect(stream.events).toEqual([]);
      expect(notifier.waiters()).toBe(0);
    });

    it('a Last-Event-ID that is not a number is a 400 of our format', async () => {
      const { app, client } = await listen();
      const id = await client.submit('x');
      const response = await app.inject({ url: `/predict/${id}/events`, headers: { 'last-event-id': 'abc' } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    });
  });

  it('an unknown id, or one that is no UUID, is the seed 404, not a stream', async () => {
    const { app, notifier } = await listen();
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const response = await app.inject({ url: `/predict/${id}/events` });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toBe(JSON.stringify({ error: MESSAGES.notFound }));
    }
    expect(notifier.waiters()).toBe(0);
  });

  it("with API keys: another key's job is a 404, no key a 401", async () => {
    const { app, base, notifier } = await listen({}, [KEY_A, KEY_B]);
    const submitted = await app.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'async-mode': 'true', ...bearer(KEY_A) },
      payload: { input: 'mine' },
    });
    const id = submitted.json<{ prediction_id: string }>().prediction_id;
    const other = await app.inject({ url: `/predict/${id}/events`, headers: bearer(KEY_B) });
    expect(other.statusCode).toBe(404);
    expect(other.body).toBe(JSON.stringify({ error: MESSAGES.notFound }));
    expect((await app.inject({ url: `/predict/${id}/events` })).statusCode).toBe(401);
    const own = await events(base, id, bearer(KEY_A));
    expect((await own.received(1))[0]).toMatchObject({ event: 'queued' });
    own.close();
    await waitFor(() => notifier.waiters() === 0, { what: 'the waiter freed' });
  });

  it('a client that hangs up frees its waiter at once', async () => {
    const { base, client, notifier } = await listen();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => client.submit(`job ${i}`)));
    const streams = await Promise.all(ids.map((id) => events(base, id)));
    await Promise.all(streams.map((stream) => stream.received(1)));
    expect(notifier.waiters()).toBe(20);
    for (const stream of streams) stream.close();
    await waitFor(() => notifier.waiters() === 0, { what: 'every waiter freed' });
  });

  it('beyond MAX_WAITERS: 503 TOO_MANY_WAITERS with Retry-After', async () => {
    const { base, client, notifier } = await listen({ MAX_WAITERS: 1 });
    const id = await client.submit('one');
    const first = await events(base, id);
    await first.received(1);
    const second = await events(base, id);
    await second.ended;
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(JSON.parse(second.body())).toMatchObject({ code: 'TOO_MANY_WAITERS' });
    first.close();
    await waitFor(() => notifier.waiters() === 0, { what: 'the waiter freed' });
  });

  it('ends on shutdown without holding app.close()', async () => {
    const { app, base, client } = await listen();
    const id = await client.submit('never finished');
    const stream = await events(base, id);
    await stream.received(1);
    await app.close();
    await stream.ended;
    expect(stream.events.map((event) => event.event)).toEqual(['queued']);
  });

  it('the notifier subscribes both the started and the done channel', async () => {
    const { base, client } = await listen();
    const id = await client.submit('x');
    const stream = await events(base, id);
    await stream.received(1);
    const keys = redisKeys(t.prefix);
    const counts = (await t.redis.pubsub('NUMSUB', keys.started, keys.done)) as (string | number)[];
    expect(counts).toEqual([keys.started, 1, keys.done, 1]);
    stream.close();
  });
});

describe('GET /predict/{id}/events in the metrics', () => {
  it('is timed under its route once the stream ends', async () => {
    const { app, base, client } = await listen();
    const id = await client.submit('timed');
    await start(id);
    await finish(id, 'succeeded', 'positive');
    const stream = await events(base, id);
    await stream.ended;
    await waitFor(
      async () => {
        const metrics = await app.inject({ url: '/metrics' });
        return metrics.body.includes('route="/predict/:prediction_id/events",method="GET",status_code="200"');
      },
      { what: 'the stream timed' },
    );
  });
});
