// The webhook fields of POST /predict on the real app and Redis: what is
// refused (and how), and what an accepted job stores for the consumers.
import { randomUUID } from 'node:crypto';
import { createMockModel, type LookupAll } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { injectClient, type PredictClient } from '../../../test/support/predict-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildApp, type AppDeps } from '../src/app.js';
import { TEST_CONFIG } from './build-test-app.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const ASYNC = { 'async-mode': 'true' };

/** A resolver that knows a few names, as DNS would answer them. */
const lookup: LookupAll = async (hostname) => {
  const known: Record<string, string> = {
    'hooks.example.com': '93.184.215.14',
    'intranet.example.com': '10.1.2.3',
    'metadata.example.com': '169.254.169.254',
  };
  const address = known[hostname];
  if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return [{ address, family: 4 }];
};

let t: TestRedis;
const apps: FastifyInstance[] = [];

beforeEach(() => {
  t = testRedis();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await t.cleanup();
});

async function build(
  config: Partial<AppDeps['config']> = { WEBHOOK_SECRET: SECRET },
  webhookLookup: LookupAll = lookup,
): Promise<PredictClient> {
  return injectClient(await buildWith(config, webhookLookup));
}

async function buildWith(config: Partial<AppDeps['config']>, webhookLookup: LookupAll): Promise<FastifyInstance> {
  const app = await buildApp({
    config: { ...TEST_CONFIG, BODY_LIMIT_BYTES: 65_536, ...config, KEY_PREFIX: t.prefix },
    redis: t.redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    webhookLookup,
  });
  apps.push(app);
  return app;
}

/** The foretell_webhook_lookups gauge as /metrics shows it: [running, waiting]. */
async function lookupGauge(app: FastifyInstance): Promise<[number, number]> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const read = (state: string) =>
    Number(new RegExp(`^foretell_webhook_lookups\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return [read('running'), read('waiting')];
}

function errorOf(response: { status: number; body: string }) {
  return { status: response.status, ...(JSON.parse(response.body) as { error: string; code?: string }) };
}

describe('POST /predict with a webhook', () => {
  it('stores the webhook and its events with the job (default: completed)', async () => {
    const client = await build();
    const plain = await client.submit('x', {});
    const id = await client.submit('with a hook', {});
    expect(await t.redis.hexists(t.keys.job(plain), 'webhook')).toBe(0);
    const response = await client.post({ input: 'hooked', webhook: 'https://hooks.example.com/foretell#frag' }, ASYNC);
    expect(response.status).toBe(202);
    const hooked = (JSON.parse(response.body) as { prediction_id: string }).prediction_id;
    expect(await t.redis.hmget(t.keys.job(hooked), 'webhook', 'webhook_events')).toEqual([
      'https://hooks.example.com/foretell',
      'completed',
    ]);
    const both = await client.post(
      { input: 'both', webhook: 'https://hooks.example.com/x', webhook_events_filter: ['completed', 'start'] },
      ASYNC,
    );
    const bothId = (JSON.parse(both.body) as { prediction_id: string }).prediction_id;
    expect(await t.redis.hget(t.keys.job(bothId), 'webhook_events')).toBe('start,completed');
    expect(id).not.toBe(hooked);
  });

  it('refuses each malformed webhook or filter with a 400 that says why, and queues nothing', async () => {
    const client = await build();
    const cases: [body: Record<string, unknown>, code: string, message: RegExp][] = [
      [{ webhook: 'ftp://hooks.example.com/x' }, 'INVALID_WEBHOOK', /https: or http:/],
      [{ webhook: 'not a url' }, 'INVALID_WEBHOOK', /not an absolute URL/],
      [{ webhook: 'https://user:secret@hooks.example.com/' }, 'INVALID_WEBHOOK', /username or password/],
      [{ webhook: 'https://hooks.example.com:0/' }, 'INVALID_WEBHOOK', /port 0/],
      [{ webhook: `https://hooks.example.com/${'a'.repeat(2100)}` }, 'INVALID_REQUEST', /webhook/],
      [{ webhook: 42 }, 'INVALID_REQUEST', /webhook/],
      [
        { webhook: 'https://hooks.example.com/', webhook_events_filter: [] },
        'INVALID_REQUEST',
        /webhook_events_filter/,
      ],
      [
        { webhook: 'https://hooks.example.com/', webhook_events_filter: ['done'] },
        'INVALID_REQUEST',
        /webhook_events_filter/,
      ],
      [
        { webhook: 'https://hooks.example.com/', webhook_events_filter: ['start', 'start'] },
        'INVALID_REQUEST',
        /webhook_events_filter/,
      ],
      [
        { webhook: 'https://hooks.example.com/', webhook_events_filter: 'start' },
        'INVALID_REQUEST',
        /webhook_events_filter/,
      ],
      [{ webhook_events_filter: ['start'] }, 'INVALID_WEBHOOK', /needs a webhook/],
    ];
    for (const [fields, code, message] of cases) {
      const response = await client.post({ input: 'x', ...fields }, ASYNC);
      const body = errorOf(response);
      expect({ fields, status: body.status, code: body.code }).toEqual({ fields, status: 400, code });
      expect(body.error, JSON.stringify(fields)).toMatch(message);
      // A short sentence, never the client's whole input.
      expect(body.error.length, JSON.stringify(fields)).toBeLessThan(300);
    }
    expect(await t.redis.xlen(t.keys.jobs)).toBe(0);
  });

  it('refuses targets that are private, loopback, link-local or unresolvable, unless WEBHOOK_ALLOW_PRIVATE', async () => {
    const client = await build();
    const refused = [
      'http://127.0.0.1:8080/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'https://intranet.example.com/hook',
      'https://metadata.example.com/',
      'http://[::ffff:127.0.0.1]/',
      'https://nowhere.example.com/',
    ];
    for (const webhook of refused) {
      const body = errorOf(await client.post({ input: 'x', webhook }, ASYNC));
      expect({ webhook, status: body.status, code: body.code }).toEqual({
        webhook,
        status: 400,
        code: 'INVALID_WEBHOOK',
      });
      expect(body.error).toMatch(/\.$/);
    }
    expect(await t.redis.xlen(t.keys.jobs)).toBe(0);

    const open = await build({ WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect((await open.post({ input: 'x', webhook: 'http://127.0.0.1:8080/hook' }, ASYNC)).status).toBe(202);
    expect((await open.post({ input: 'x', webhook: 'https://intranet.example.com/hook' }, ASYNC)).status).toBe(202);
  });

  it('needs async mode, and webhooks on (WEBHOOK_SECRET)', async () => {
    const client = await build();
    const sync = errorOf(await client.post({ input: 'x', webhook: 'https://hooks.example.com/' }));
    expect(sync).toEqual({
      status: 400,
      error: 'A webhook is for async requests: send Async-Mode: true.',
      code: 'INVALID_WEBHOOK',
    });
    const off = await build({});
    expect(errorOf(await off.post({ input: 'x', webhook: 'https://hooks.example.com/' }, ASYNC))).toEqual({
      status: 400,
      error: 'Webhooks are off on this server (no WEBHOOK_SECRET); poll or wait for the result instead.',
      code: 'WEBHOOKS_OFF',
    });
  });

  it('bounds the DNS lookups a flood of webhook hosts starts: 2 at once, 64 waiting, then 503 WEBHOOK_LOOKUPS_BUSY', async () => {
    const held = new Map<string, () => void>();
    const slow: LookupAll = (hostname) =>
      new Promise((resolve) => held.set(hostname, () => resolve([{ address: '93.184.215.14', family: 4 }])));
    const app = await buildWith({ WEBHOOK_SECRET: SECRET }, slow);
    const client = injectClient(app);
    const hook = (host: string) => ({ input: host, webhook: `https://${host}.example.com/hook` });
    const flood = Array.from({ length: 66 }, (_, i) => client.post(hook(`h${i}`), ASYNC));
    await waitFor(async () => (await lookupGauge(app)).join() === '2,64', { what: '2 lookups running, 64 waiting' });
    expect([...held.keys()]).toEqual(['h0.example.com', 'h1.example.com']);

    const refused = await client.post(hook('h66'), ASYNC);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({
      error: 'Too many webhook hosts are being looked up; retry later.',
      code: 'WEBHOOK_LOOKUPS_BUSY',
    });
    // A host being looked up costs no thread and no place in line: it shares the lookup.
    const sharing = client.post(hook('h0'), ASYNC);
    await waitFor(async () => (await lookupGauge(app)).join() === '2,64', { what: 'still 2 and 64' });

    while (held.size > 0) {
      for (const [host, answer] of [...held]) {
        held.delete(host);
        answer();
      }
      await waitFor(async () => held.size > 0 || (await lookupGauge(app))[0] === 0, { what: 'the next lookups' });
    }
    const answers = await Promise.all([...flood, sharing]);
    expect(answers.map(({ status }) => status)).toEqual(Array.from({ length: 67 }, () => 202));
    expect(await lookupGauge(app)).toEqual([0, 0]);
    expect(await t.redis.xlen(t.keys.jobs)).toBe(67);
  });

  it('refuses a webhook job with 503 WEBHOOKS_FULL at WEBHOOK_MAX_PENDING deliveries waiting, and stores nothing of it', async () => {
    const client = await build({ WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_PENDING: 3 });
    await t.redis.zadd(t.keys.webhooks, 1, 'a', 2, 'b', 3, 'c');
    const hooked = { input: 'hooked', webhook: 'https://hooks.example.com/x' };
    const refused = await client.post(hooked, ASYNC);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(JSON.parse(refused.body)).toEqual({
      error: 'Too many webhook deliveries are waiting to be sent; retry later.',
      code: 'WEBHOOKS_FULL',
    });
    expect(await t.redis.xlen(t.keys.jobs)).toBe(0);
    expect(await t.redis.exists(t.keys.backlogBytes)).toBe(0);
    // Jobs without a webhook add no delivery: still accepted.
    expect((await client.post({ input: 'plain' }, ASYNC)).status).toBe(202);
    await t.redis.zrem(t.keys.webhooks, 'a');
    expect((await client.post(hooked, ASYNC)).status).toBe(202);
    expect(await t.redis.xlen(t.keys.jobs)).toBe(2);

    const uncapped = await build({ WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_PENDING: 0 });
    await t.redis.zadd(t.keys.webhooks, 4, 'd', 5, 'e');
    expect((await uncapped.post(hooked, ASYNC)).status).toBe(202);
  });

  it('binds an Idempotency-Key to the webhook too: the same request replays, another webhook is 422', async () => {
    const client = await build();
    const key = { ...ASYNC, 'idempotency-key': `hook-${randomUUID()}` };
    const body = { input: 'once', webhook: 'https://hooks.example.com/a' };
    const first = await client.post(body, key);
    const again = await client.post(body, key);
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    const other = await client.post({ ...body, webhook: 'https://hooks.example.com/b' }, key);
    expect(errorOf(other)).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    const none = await client.post({ input: 'once' }, key);
    expect(none.status).toBe(422);
  });
});
