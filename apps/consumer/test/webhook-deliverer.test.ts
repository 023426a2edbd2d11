// The webhook deliverer on the run's real Redis and real HTTP receivers on
// 127.0.0.1: deliveries queued as the job scripts queue them (add_webhook),
// claimed, signed, sent, and settled once.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  luaScript,
  METRICS,
  mockResult,
  parseWebhookSecret,
  type JobWebhook,
  type Model,
  type WebhookDelivery,
} from '@foretell/shared';
import pino from 'pino';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisRelay } from '../../../test/support/redis-relay.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import {
  createWebhookDeliverer,
  warnOfUnsentWebhooks,
  type WebhookDeliverer,
  type WebhookDelivererSettings,
} from '../src/webhooks/webhook-deliverer.js';
import { loadWebhookConfig, webhookSettings } from '../src/webhooks/webhook-config.js';
import { registerWebhookMetrics } from '../src/webhooks/webhook-metrics.js';
import { EXPIRED_JOB_ERROR } from '../src/webhooks/webhook-payload.js';
import { harnessPool } from './consumer-harness.js';
import {
  closedPort,
  startReceiver,
  type ReceivedRequest,
  type Respond,
  type WebhookReceiver,
} from '../../../test/support/webhook-receiver.js';

const SECRET_TEXT = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET = (() => {
  const parsed = parseWebhookSecret(SECRET_TEXT);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.secret;
})();
const STRING_MODEL: Pick<Model, 'schemas'> = {};
const JSON_MODEL: Pick<Model, 'schemas'> = { schemas: { input: {}, output: {} } };
const CREATED = Date.parse('2026-01-02T03:04:05.000Z');
const STARTED = CREATED + 1_500;
const FINISHED = STARTED + 2_250;

/** The job scripts' way of queuing a first attempt: add_webhook, due now by Redis's clock. */
const ADD_WEBHOOK_LUA = luaScript(
  { allowOom: false },
  `add_webhook(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now_ms())
return 1`,
);

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const harnesses = harnessPool();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Deliverers first (they use the connection and the receivers), then receivers, then Redis.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await harnesses.disposeAll();
});

function open(): TestRedis {
  const t = testRedis();
  cleanups.push(() => t.cleanup());
  return t;
}

async function receiver(respond: Respond): Promise<WebhookReceiver> {
  const started = await startReceiver(respond);
  cleanups.push(() => started.close());
  return started;
}

const answer =
  (status: number, headers: Record<string, string> = {}): Respond =>
  (response) =>
    response.writeHead(status, headers).end();

function deliverer(
  t: TestRedis,
  settings: Partial<WebhookDelivererSettings> = {},
  model: Pick<Model, 'schemas'> = STRING_MODEL,
): WebhookDeliverer & { logs: LogLine[] } {
  const logs: LogLine[] = [];
  const created = createWebhookDeliverer({
    redis: t.redis,
    keys: t.keys,
    log: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    model,
    settings: {
      secret: SECRET,
      maxAttempts: 3,
      allowPrivate: true,
      timeoutMs: 5_000,
      concurrency: 4,
      failuresMaxLength: 100,
      pollMs: 20,
      ...settings,
    },
  });
  cleanups.push(() => created.close(0));
  return Object.assign(created, { logs });
}

/** A job hash as the scripts leave it, and its delivery queued by add_webhook. */
async function job(
  t: TestRedis,
  url: URL | string,
  fields: Record<string, string | number>,
  event: 'start' | 'completed' = 'completed',
): Promise<string> {
  const id = randomUUID();
  await t.redis.hset(t.keys.job(id), { attempts: 1, ...fields });
  await t.redis.eval(ADD_WEBHOOK_LUA, 1, t.keys.webhooks, id, event, String(url), 'start,completed');
  return id;
}

/** Verifies the request's signature as a receiver would, and returns the payload. */
function verified(request: ReceivedRequest | undefined): Record<string, unknown> {
  if (request === undefined) throw new Error('no request arrived');
  return new Webhook(SECRET_TEXT).verify(request.body, request.headers as Record<string, string>) as Record<
    string,
    unknown
  >;
}

async function failures(t: TestRedis): Promise<Record<string, string>[]> {
  const entries = await t.redis.xrange(t.keys.webhookFailures, '-', '+');
  return entries.map(([, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] ?? ''] = flat[i + 1] ?? '';
    return fields;
  });
}

async function settled(t: TestRedis): Promise<boolean> {
  return (await t.redis.zcard(t.keys.webhooks)) === 0;
}

async function redisNowMs(t: TestRedis): Promise<number> {
  const [seconds, micros] = await t.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('webhook payloads, signed and delivered once', () => {
  async function deliverOne(
    fields: Record<string, string | number>,
    event: 'start' | 'completed' = 'completed',
    model: Pick<Model, 'schemas'> = STRING_MODEL,
  ) {
    const t = open();
    const hooks = await receiver(answer(204));
    const id = await job(t, hooks.url('/hooks?tenant=7'), fields, event);
    const d = deliverer(t, {}, model);
    d.start();
    await waitFor(() => d.stats.delivered === 1 && settled(t), { what: 'the delivery settled' });
    expect(hooks.requests).toHaveLength(1);
    expect(d.stats).toEqual({ delivered: 1, retried: 0, failed: 0, gone: 0 });
    expect(await t.redis.exists(t.keys.webhookFailures)).toBe(0);
    const [request] = hooks.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks?tenant=7' });
    expect(request?.headers['webhook-id']).toBe(
      `msg_${id}_${event}_${/_(\d+)$/.exec(String(request?.headers['webhook-id']))?.[1]}`,
    );
    const payload = verified(request);
    // The payload's timestamp is the signature's, to the second.
    expect(Math.floor(Date.parse(String(payload.timestamp)) / 1000)).toBe(
      Number(request?.headers['webhook-timestamp']),
    );
    return { id, payload };
  }

  it('succeeded: the outcome as GET /predict/{id} has it, and the completion time', async () => {
    const { id, payload } = await deliverOne({
      status: 'succeeded',
      input: 'I love it',
      result: 'positive',
      finished: FINISHED,
    });
    expect(payload).toEqual({
      type: 'prediction.completed',
      timestamp: expect.any(String) as string,
      data: {
        prediction_id: id,
        status: 'succeeded',
        input: 'I love it',
        output: { input: 'I love it', result: 'positive' },
        completed_at: '2026-01-02T03:04:08.750Z',
      },
    });
  });

  it('succeeded, for a model with schemas: input and result as JSON values', async () => {
    const { id, payload } = await deliverOne(
      { status: 'succeeded', input: '{"text":"hi"}', result: '{"label":"positive","score":0.9}', finished: FINISHED },
      'completed',
      JSON_MODEL,
    );
    expect(payload.data).toEqual({
      prediction_id: id,
      status: 'succeeded',
      input: { text: 'hi' },
      output: { input: { text: 'hi' }, result: { label: 'positive', score: 0.9 } },
      completed_at: '2026-01-02T03:04:08.750Z',
    });
  });

  it("failed: the client's reason", async () => {
    const { id, payload } = await deliverOne({
      status: 'failed',
      input: 'x',
      reason: 'The model failed to make a prediction.',
      finished: FINISHED,
    });
    expect(payload).toEqual({
      type: 'prediction.completed',
      timestamp: expect.any(String) as string,
      data: {
        prediction_id: id,
        status: 'failed',
        input: 'x',
        reason: 'The model failed to make a prediction.',
        completed_at: '2026-01-02T03:04:08.750Z',
      },
    });
  });

  it('canceled: no output, no reason', async () => {
    const { id, payload } = await deliverOne({ status: 'canceled', input: 'x', finished: FINISHED });
    expect(payload.data).toEqual({
      prediction_id: id,
      status: 'canceled',
      input: 'x',
      completed_at: '2026-01-02T03:04:08.750Z',
    });
  });

  it('start: processing, with when the job was created and started', async () => {
    const { id, payload } = await deliverOne(
      { status: 'processing', input: 'x', created: CREATED, started: STARTED },
      'start',
    );
    expect(payload).toEqual({
      type: 'prediction.started',
      timestamp: expect.any(String) as string,
      data: {
        prediction_id: id,
        status: 'processing',
        input: 'x',
        created_at: '2026-01-02T03:04:05.000Z',
        started_at: '2026-01-02T03:04:06.500Z',
      },
    });
  });

  it('start, sent after the job finished: still processing, without the outcome', async () => {
    const { id, payload } = await deliverOne(
      { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED },
      'start',
    );
    expect(payload.data).toEqual({ prediction_id: id, status: 'processing', input: 'x' });
  });
});

describe('retries and failures', () => {
  it('503 then 200: delivered by the second attempt, with the same webhook-id', async () => {
    const t = open();
    let calls = 0;
    const hooks = await receiver((response) => {
      calls += 1;
      response.writeHead(calls === 1 ? 503 : 200).end();
    });
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.delivered === 1 && settled(t), { what: 'delivered on the second attempt' });
    expect(hooks.requests).toHaveLength(2);
    const [first, second] = hooks.requests;
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(verified(second)).toMatchObject({ type: 'prediction.completed' });
    expect(d.stats).toEqual({ delivered: 1, retried: 1, failed: 0, gone: 0 });
    expect(d.logs.find((line) => line.msg === 'webhook attempt failed; retrying')).toMatchObject({
      attempt: 1,
      error: 'the receiver answered HTTP 503',
    });
  });

  it('410 Gone: never sent again, counted as gone, logged', async () => {
    const t = open();
    const hooks = await receiver(answer(410));
    const id = await job(t, hooks.url(), { status: 'failed', input: 'x', reason: 'r', finished: FINISHED });
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.gone === 1 && settled(t), { what: 'the delivery ended by 410' });
    expect(hooks.requests).toHaveLength(1);
    expect(d.stats).toEqual({ delivered: 0, retried: 0, failed: 0, gone: 1 });
    expect(await t.redis.exists(t.keys.webhookFailures)).toBe(0);
    expect(d.logs.some((line) => line.msg.includes('410 Gone') && line.jobId === id)).toBe(true);
  });

  it('always 500: exactly maxAttempts attempts, then one failure entry with the last error', async () => {
    const t = open();
    const hooks = await receiver(answer(500));
    const url = hooks.url('/always-500');
    const id = await job(t, url, { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t, { maxAttempts: 3 });
    d.start();
    await waitFor(() => d.stats.failed === 1 && settled(t), { what: 'the delivery failed for good' });
    expect(hooks.requests).toHaveLength(3);
    expect(new Set(hooks.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(d.stats).toEqual({ delivered: 0, retried: 2, failed: 1, gone: 0 });
    expect(await failures(t)).toEqual([
      {
        id,
        event: 'completed',
        url: url.href,
        wid: hooks.requests[0]?.headers['webhook-id'],
        attempts: '3',
        error: 'the receiver answered HTTP 500',
      },
    ]);
    expect(d.logs.find((line) => line.msg === 'webhook failed for good')).toMatchObject({ jobId: id, attempts: 3 });
  });

  it('honours Retry-After: the next attempt is due no sooner than the receiver asked', async () => {
    const t = open();
    const hooks = await receiver(answer(503, { 'retry-after': '120' }));
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const before = await redisNowMs(t);
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.retried === 1, { what: 'the attempt rescheduled' });
    const [member, score] = await t.redis.zrange(t.keys.webhooks, 0, -1, 'WITHSCORES');
    expect((JSON.parse(member ?? '') as WebhookDelivery).attempt).toBe(2);
    expect(Number(score)).toBeGreaterThanOrEqual(before + 120_000);
    expect(hooks.requests).toHaveLength(1);
  });

  it('a non-public target with allowPrivate off: failed for good, no request, no retry', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    const id = await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t, { allowPrivate: false });
    d.start();
    await waitFor(() => d.stats.failed === 1 && settled(t), { what: 'the delivery refused' });
    expect(hooks.connections().accepted).toBe(0);
    expect(await failures(t)).toEqual([
      expect.objectContaining({ id, attempts: '1', error: 'webhook host 127.0.0.1 is not a public address.' }),
    ]);
    expect(d.stats).toEqual({ delivered: 0, retried: 0, failed: 1, gone: 0 });
  });

  it('a DNS lookup that fails is retried', async () => {
    const t = open();
    const id = randomUUID();
    await t.redis.hset(t.keys.job(id), { status: 'canceled', input: 'x', attempts: 0, finished: FINISHED });
    await t.redis.eval(ADD_WEBHOOK_LUA, 1, t.keys.webhooks, id, 'completed', 'http://hooks.invalid/', 'completed');
    const d = createWebhookDeliverer({
      redis: t.redis,
      keys: t.keys,
      log: pino({ level: 'silent' }),
      model: STRING_MODEL,
      settings: {
        secret: SECRET,
        maxAttempts: 1,
        allowPrivate: true,
        timeoutMs: 1000,
        concurrency: 1,
        failuresMaxLength: 10,
        pollMs: 20,
      },
      lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
    });
    cleanups.push(() => d.close(0));
    d.start();
    await waitFor(() => d.stats.failed === 1, { what: 'the lookup failure counted' });
    // maxAttempts 1: the retry path, at its last attempt, records the lookup error.
    expect(await failures(t)).toEqual([
      expect.objectContaining({ id, attempts: '1', error: 'webhook host hooks.invalid could not be resolved.' }),
    ]);
  });

  it('a job that expired: failed for good, no request', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    const id = randomUUID();
    await t.redis.eval(ADD_WEBHOOK_LUA, 1, t.keys.webhooks, id, 'completed', hooks.url().href, 'completed');
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.failed === 1 && settled(t), { what: 'the delivery failed' });
    expect(hooks.connections().accepted).toBe(0);
    expect(await failures(t)).toEqual([expect.objectContaining({ id, attempts: '1', error: EXPIRED_JOB_ERROR })]);
  });

  it('a completed delivery for a job without its outcome: failed for good, saying so', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    const id = await job(t, hooks.url(), { status: 'processing', input: 'x', created: CREATED, started: STARTED });
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.failed === 1 && settled(t), { what: 'the delivery failed' });
    expect(hooks.connections().accepted).toBe(0);
    expect(await failures(t)).toEqual([
      expect.objectContaining({
        id,
        error: 'a completed webhook for a job still processing: it has no outcome to send',
      }),
    ]);
  });

  it('members foretell did not write: recorded as failed, quoted, and the loop goes on', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    await t.redis.zadd(t.keys.webhooks, 0, 'not json', 0, '{"id":1}');
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.failed === 2 && d.stats.delivered === 1 && settled(t), { what: 'all settled' });
    expect((await failures(t)).sort((a, b) => String(a.member).localeCompare(String(b.member)))).toEqual([
      { member: '{"id":1}', error: 'not a webhook delivery foretell wrote' },
      { member: 'not json', error: 'not a webhook delivery foretell wrote' },
    ]);
  });
});

describe('leases, concurrency and shutdown', () => {
  it('a delivery whose lease ran out is sent by another consumer; the first one settles nothing', async () => {
    const t = open();
    const held: ServerResponse[] = [];
    // The first request hangs until released; later ones are answered at once.
    const hooks = await receiver((response) => {
      if (hooks.requests.length === 1) held.push(response);
      else response.writeHead(200).end();
    });
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    // Concurrency 1: while its attempt hangs, the first consumer claims nothing, its own delivery included.
    const first = deliverer(t, { concurrency: 1, leaseMs: 200, timeoutMs: 60_000 });
    first.start();
    await waitFor(() => held.length === 1, { what: 'the first attempt hanging' });
    const second = deliverer(t, { concurrency: 1 });
    second.start();
    await waitFor(() => second.stats.delivered === 1 && settled(t), { what: 'the second consumer delivered it' });

    held[0]?.writeHead(200).end();
    await waitFor(() => first.logs.some((line) => line.msg.includes('another consumer took it over')), {
      what: "the first consumer's settle refused",
    });
    expect(first.stats).toEqual({ delivered: 0, retried: 0, failed: 0, gone: 0 });
    expect(second.stats).toEqual({ delivered: 1, retried: 0, failed: 0, gone: 0 });
    expect(hooks.requests).toHaveLength(2);
    expect(hooks.requests[1]?.headers['webhook-id']).toBe(hooks.requests[0]?.headers['webhook-id']);
    expect(await t.redis.exists(t.keys.webhooks, t.keys.webhookFailures)).toBe(0);
  });

  it('a consumer that died mid-attempt: its delivery is sent by another when the lease ends', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    // What a consumer that died after claiming leaves: the member, scored at its lease's end.
    const [member] = await t.redis.zrange(t.keys.webhooks, 0, 0);
    await t.redis.zadd(t.keys.webhooks, 'XX', (await redisNowMs(t)) + 300, member ?? '');
    const d = deliverer(t);
    d.start();
    await waitFor(() => d.stats.delivered === 1 && settled(t), { what: 'delivered after the lease' });
    expect(hooks.requests).toHaveLength(1);
  });

  it('never has more than `concurrency` attempts in flight', async () => {
    const t = open();
    const concurrency = 3;
    const deliveries = 8;
    const held: ServerResponse[] = [];
    let open_ = 0;
    let most = 0;
    const hooks = await receiver((response) => {
      open_ += 1;
      most = Math.max(most, open_);
      response.on('finish', () => (open_ -= 1));
      held.push(response);
    });
    for (let i = 0; i < deliveries; i += 1) {
      await job(t, hooks.url(), { status: 'succeeded', input: `x${i}`, result: 'y', finished: FINISHED });
    }
    const d = deliverer(t, { concurrency });
    d.start();
    let answered = 0;
    while (answered < deliveries) {
      const expected = Math.min(concurrency, deliveries - answered);
      await waitFor(() => held.length >= expected, { what: `${expected} attempts held` });
      expect(held).toHaveLength(expected);
      expect(d.inFlight()).toBeLessThanOrEqual(concurrency);
      for (const response of held.splice(0)) {
        response.writeHead(200).end();
        answered += 1;
      }
    }
    await waitFor(() => d.stats.delivered === deliveries && settled(t), { what: 'all delivered' });
    expect(most).toBe(concurrency);
    expect(hooks.requests).toHaveLength(deliveries);
  });

  it('close() during a hanging attempt ends within the grace, and leaves the delivery to its lease', async () => {
    const t = open();
    const hooks = await receiver(() => {});
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t, { timeoutMs: 60_000, leaseMs: 60_000 });
    d.start();
    await waitFor(() => hooks.requests.length === 1, { what: 'the attempt hanging' });
    const startedAt = performance.now();
    await d.close(200);
    const tookMs = performance.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(190);
    expect(tookMs).toBeLessThan(1_500);
    expect(d.inFlight()).toBe(0);
    // Not settled: still claimed, due again when the lease ends.
    const [, score] = await t.redis.zrange(t.keys.webhooks, 0, -1, 'WITHSCORES');
    expect(Number(score)).toBeGreaterThan(await redisNowMs(t));
    expect(d.stats).toEqual({ delivered: 0, retried: 0, failed: 0, gone: 0 });
    await waitFor(() => hooks.connections().open === 0, { what: 'the connection closed' });
    // Idempotent: a second close resolves at once.
    await d.close(10_000);
  });

  it('close() with nothing in flight resolves at once and claims nothing more', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    const d = deliverer(t);
    d.start();
    await d.close(10_000);
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const [member] = await t.redis.zrange(t.keys.webhooks, 0, 0);
    // Another claim would re-score it to a lease's end; it stays due.
    expect(Number(await t.redis.zscore(t.keys.webhooks, member ?? ''))).toBeLessThanOrEqual(await redisNowMs(t));
    expect(hooks.requests).toHaveLength(0);
  });

  it('survives Redis going away: the loop backs off, logs, and delivers once Redis answers again', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    const redisPort = Number(new URL(t.url).port);
    const relay = await startRedisRelay(redisPort);
    cleanups.push(() => relay.close());
    const name = `webhooks-${randomUUID().slice(0, 8)}`;
    // A claim can be in flight when the connection is cut: ioredis keeps such a
    // command for the next connection, which cannot come while Redis is away, so
    // only a command timeout makes it fail then (one queued offline fails at
    // the retry limit). Either way the loop sees a failed claim.
    const redis = new Redis(relay.url, {
      connectionName: name,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      retryStrategy: () => 50,
    });
    redis.on('error', () => undefined);
    cleanups.push(async () => void redis.disconnect());
    const logs: LogLine[] = [];
    const d = createWebhookDeliverer({
      redis,
      keys: t.keys,
      log: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
      model: STRING_MODEL,
      settings: {
        secret: SECRET,
        maxAttempts: 3,
        allowPrivate: true,
        timeoutMs: 5_000,
        concurrency: 4,
        failuresMaxLength: 100,
        pollMs: 20,
      },
    });
    cleanups.push(() => d.close(0));
    d.start();
    await waitFor(() => redis.status === 'ready', { what: 'the deliverer connected' });
    // Redis away: new connections go nowhere, the open one is cut.
    relay.retarget(await closedPort());
    // Only the deliverer's connection, found by its name: other test files share this redis-server.
    const list = String(await t.redis.call('CLIENT', 'LIST'));
    const clientId = /(?:^|\s)id=(\d+)/.exec(
      list.split('\n').find((line) => line.includes(` name=${name} `)) ?? '',
    )?.[1];
    expect(clientId).toBeDefined();
    await t.redis.call('CLIENT', 'KILL', 'ID', clientId ?? '');
    await waitFor(() => logs.some((line) => line.msg === 'webhook deliveries could not be claimed; trying again'), {
      what: 'the failed claim logged',
    });
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    relay.retarget(redisPort);
    await waitFor(() => d.stats.delivered === 1 && settled(t), { what: 'delivered after the reconnect' });
    expect(hooks.requests).toHaveLength(1);
  });
});

describe('with a real consumer', () => {
  it("sends the start and completed webhooks that the job scripts queued, with the job's outcome", async () => {
    const h = harnesses.create();
    const hooks = await receiver(answer(200));
    await h.consumer.start();
    const id = randomUUID();
    const webhook = { url: hooks.url('/jobs').href, events: ['start', 'completed'] } satisfies JobWebhook;
    const call = { id, input: 'I love it', ttlSeconds: 3600, maxQueueLength: 0, maxQueueBytes: 0, webhook };
    await h.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(h.keys, call));
    const d = deliverer(h);
    d.start();
    await waitFor(async () => d.stats.delivered === 2 && (await h.redis.zcard(h.keys.webhooks)) === 0, {
      what: 'both webhooks delivered',
    });
    const payloads = hooks.requests.map(verified);
    const completed = payloads.find((payload) => payload.type === 'prediction.completed');
    expect(payloads.find((payload) => payload.type === 'prediction.started')).toMatchObject({
      data: { prediction_id: id, status: 'processing', input: 'I love it' },
    });
    expect(completed).toMatchObject({
      data: {
        prediction_id: id,
        status: 'succeeded',
        input: 'I love it',
        output: { input: 'I love it', result: mockResult('I love it') },
        completed_at: expect.any(String) as string,
      },
    });
  });
});

describe('webhook metrics', () => {
  it('exports the counts by outcome and the deliveries waiting', async () => {
    const t = open();
    const hooks = await receiver(answer(200));
    await job(t, hooks.url(), { status: 'succeeded', input: 'x', result: 'y', finished: FINISHED });
    const d = deliverer(t);
    const registry = new Registry();
    registerWebhookMetrics(registry, { stats: d.stats, redis: t.redis, keys: t.keys });
    expect(await registry.getSingleMetricAsString(METRICS.webhooksPending)).toMatch(/^foretell_webhooks_pending 1$/m);
    d.start();
    await waitFor(() => d.stats.delivered === 1, { what: 'delivered' });
    const counts = await registry.getSingleMetricAsString(METRICS.webhookDeliveries);
    expect(counts).toMatch(/^foretell_webhook_deliveries_total\{outcome="delivered"\} 1$/m);
    expect(counts).toMatch(/^foretell_webhook_deliveries_total\{outcome="gone"\} 0$/m);
  });
});

describe('webhook configuration', () => {
  it('has defaults, and no deliverer without a secret', () => {
    const config = loadWebhookConfig({});
    expect(config).toMatchObject({
      WEBHOOK_MAX_ATTEMPTS: 8,
      WEBHOOK_ALLOW_PRIVATE: 'false',
      WEBHOOK_TIMEOUT_MS: 10000,
      WEBHOOK_CONCURRENCY: 16,
      WEBHOOK_FAILURES_MAX_LENGTH: 10000,
    });
    expect(webhookSettings(config)).toBeUndefined();
    expect(webhookSettings(loadWebhookConfig({ WEBHOOK_SECRET: SECRET_TEXT, WEBHOOK_ALLOW_PRIVATE: 'true' }))).toEqual({
      secret: SECRET_TEXT,
      maxAttempts: 8,
      allowPrivate: true,
      timeoutMs: 10000,
      concurrency: 16,
      failuresMaxLength: 10000,
    });
  });

  it('names every bad variable at once, without echoing the secret', () => {
    let message = '';
    try {
      loadWebhookConfig({
        WEBHOOK_SECRET: 'whsec_c2hvcnQ=',
        WEBHOOK_MAX_ATTEMPTS: '0',
        WEBHOOK_ALLOW_PRIVATE: 'yes',
        WEBHOOK_TIMEOUT_MS: '99',
        WEBHOOK_CONCURRENCY: '1001',
      });
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    for (const name of [
      'WEBHOOK_SECRET: must encode',
      'WEBHOOK_MAX_ATTEMPTS',
      'WEBHOOK_ALLOW_PRIVATE',
      'WEBHOOK_TIMEOUT_MS',
      'WEBHOOK_CONCURRENCY',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('c2hvcnQ');
  });

  it('with webhooks off, warns once at startup when deliveries are waiting', async () => {
    const t = open();
    const logs: LogLine[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    await warnOfUnsentWebhooks(t.redis, t.keys, log);
    expect(logs).toEqual([]);
    await t.redis.eval(ADD_WEBHOOK_LUA, 1, t.keys.webhooks, 'job-1', 'completed', 'https://example.com/', 'completed');
    await warnOfUnsentWebhooks(t.redis, t.keys, log);
    expect(logs).toEqual([
      expect.objectContaining({ waiting: 1, msg: expect.stringContaining('WEBHOOK_SECRET is unset') as string }),
    ]);
  });
});
