// POST /predict/{id}/cancel on the real app and Redis, and what GET, long-poll
// and the metrics say of a canceled job. The consumer's side (the model call
// aborted) is in apps/consumer/test/cancel-jobs.test.ts and test/e2e/cancel.test.ts.
import { randomUUID } from 'node:crypto';
import { MESSAGES } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { injectClient, type PredictClient } from '../../../test/support/predict-client.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildAppWithNotifier } from '../src/app.js';
import { startAppOnOwnRedis, TEST_CONFIG, useTestApp } from './build-test-app.js';
import { bearer, KEY_A, KEY_B, clientWith, useKeyedApps } from './keyed-app.js';

const ctx = useTestApp();

const cancel = (client: PredictClient, id: string, options: { body?: string; headers?: Record<string, string> } = {}) =>
  client.send({
    method: 'POST',
    url: `/predict/${id}/cancel`,
    headers: options.headers ?? {},
    ...(options.body !== undefined && { body: options.body }),
  });

const canceledBody = (id: string) =>
  JSON.stringify({ error: MESSAGES.canceled, prediction_id: id, status: 'canceled' });

describe('POST /predict/{id}/cancel', () => {
  it('cancels a queued job: 200, then GET answers 409 with the canceled body, and a second cancel is 409', async () => {
    const { client, t } = ctx;
    const id = await client.submit('to cancel');
    const response = await cancel(client, id);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toBe(JSON.stringify({ prediction_id: id, status: 'canceled' }));
    expect(await t.redis.hget(t.keys.job(id), 'status')).toBe('canceled');

    const got = await client.get(id);
    expect({ status: got.status, body: got.body }).toEqual({ status: 409, body: canceledBody(id) });
    const again = await cancel(client, id);
    expect({ status: again.status, body: again.body }).toEqual({ status: 409, body: canceledBody(id) });
  });

  it('cancels a running job and announces it to the consumers; the job leaves the retries set', async () => {
    const { client, t } = ctx;
    const id = await client.submit('running');
    // As the start script leaves it, and as a retry waits: both are canceled.
    await t.redis.hset(t.keys.job(id), 'status', 'processing');
    await t.redis.zadd(t.keys.retries, Date.now() + 60_000, id);
    const listener = t.redis.duplicate();
    const heard: string[] = [];
    listener.on('message', (_channel: string, message: string) => heard.push(message));
    await listener.subscribe(t.keys.canceled, t.keys.done);
    try {
      expect((await cancel(client, id)).status).toBe(200);
      await waitFor(() => heard.length === 2, { what: 'both announcements' });
      expect(heard).toEqual([id, id]);
    } finally {
      await listener.quit();
    }
    expect(await t.redis.zscore(t.keys.retries, id)).toBeNull();
  });

  it('answers 409 with the status of a job that finished, and keeps its outcome', async () => {
    const { client, t } = ctx;
    const succeeded = await client.submit('done');
    await t.redis.hset(t.keys.job(succeeded), 'status', 'succeeded', 'result', '42');
    const failed = await client.submit('broken');
    await t.redis.hset(t.keys.job(failed), 'status', 'failed', 'reason', 'no');
    for (const [id, status] of [
      [succeeded, 'succeeded'],
      [failed, 'failed'],
    ] as const) {
      const response = await cancel(client, id);
      expect(response.status).toBe(409);
      expect(response.body).toBe(JSON.stringify({ error: MESSAGES.alreadyFinished, prediction_id: id, status }));
      expect(await t.redis.hget(t.keys.job(id), 'status')).toBe(status);
    }
    expect((await client.get(succeeded)).status).toBe(200);
  });

  it('answers 404 for an unknown id, a malformed one, and an empty one, without touching Redis', async () => {
    const { client, t } = ctx;
    const notFound = JSON.stringify({ error: MESSAGES.notFound });
    for (const id of [randomUUID(), 'not-a-uuid', 'x'.repeat(2000), '%00', '..%2F..%2Fetc']) {
      const response = await cancel(client, id);
      expect({ id, status: response.status, body: response.body }).toEqual({ id, status: 404, body: notFound });
    }
    expect(await t.redis.keys(`${t.prefix}:*`)).toEqual([]);
    // No id at all is no route.
    expect((await client.send({ method: 'POST', url: '/predict//cancel' })).status).toBe(404);
  });

  it('ignores a small body of any type, refuses a large one with 413, and only answers POST', async () => {
    const { client } = ctx;
    const id = await client.submit('body or not');
    const json = { 'content-type': 'application/json' };
    // An empty body with a JSON content type (what some clients send) is no error here.
    expect((await cancel(client, id, { headers: json, body: '' })).status).toBe(200);
    const other = await client.submit('another');
    expect((await cancel(client, other, { headers: json, body: '{not json' })).status).toBe(200);
    const third = await client.submit('a third');
    const large = await cancel(client, third, { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(4096) });
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect((await ctx.client.get(third)).status).toBe(400);
    const get = await client.send({ method: 'GET', url: `/predict/${third}/cancel` });
    expect(get.status).toBe(404);
  });

  it('wakes a long-poll on the job with the 409', async () => {
    const { app, notifier } = await buildAppWithNotifier({
      config: { ...TEST_CONFIG, KEY_PREFIX: ctx.t.prefix },
      redis: ctx.t.redis,
      model: { predict: async (input) => input },
    });
    try {
      const client = injectClient(app);
      const id = await client.submit('waited on');
      const waiting = client.send({ method: 'GET', url: `/predict/${id}?wait=60` });
      await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
      expect((await cancel(client, id)).status).toBe(200);
      const answer = await waiting;
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 409, body: canceledBody(id) });
    } finally {
      await app.close();
    }
  });

  it('counts each cancel by what it found (foretell_cancellations_total)', async () => {
    const { client, t } = ctx;
    const queued = await client.submit('q');
    const running = await client.submit('r');
    await t.redis.hset(t.keys.job(running), 'status', 'processing');
    await cancel(client, queued);
    await cancel(client, running);
    await cancel(client, queued);
    await cancel(client, randomUUID());
    const text = (await client.send({ method: 'GET', url: '/metrics' })).body;
    for (const [result, count] of [
      ['queued', 1],
      ['processing', 1],
      ['final', 1],
      ['missing', 1],
    ] as const) {
      expect(text).toContain(`foretell_cancellations_total{result="${result}"} ${count}`);
    }
  });
});

describe('POST /predict/{id}/cancel with API keys', () => {
  const keyed = useKeyedApps();

  it("needs a key, and a key cancels only its own jobs: another key's is 404 and stays queued", async () => {
    const app = await keyed.build();
    const a = clientWith(app, bearer(KEY_A));
    const b = clientWith(app, bearer(KEY_B));
    const id = await a.submit('team a');
    expect((await cancel(injectClient(app), id)).status).toBe(401);
    const foreign = await cancel(b, id);
    expect({ status: foreign.status, body: foreign.body }).toEqual({
      status: 404,
      body: JSON.stringify({ error: MESSAGES.notFound }),
    });
    expect(await keyed.t.redis.hget(keyed.t.keys.job(id), 'status')).toBe('queued');
    expect((await cancel(a, id)).status).toBe(200);
  });
});

describe('POST /predict/{id}/cancel when Redis is away', () => {
  it('answers 503 REDIS_UNAVAILABLE with Retry-After', async () => {
    const own = await startAppOnOwnRedis(`cancel-${randomUUID().slice(0, 8)}`, 200);
    try {
      const id = await own.client.submit('outage');
      await own.server.stop();
      const refused = await cancel(own.client, id);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    } finally {
      await own.dispose();
    }
  });
});
