// Long-poll (GET ?wait=N, Prefer: wait / respond-async) on the real app and
// Redis. A job is finished here as the consumers' finish script does it: its
// hash gets the outcome, then its id is published on `{prefix}:done` (the
// e2e test runs real consumers). Ordering is asserted, never timings.
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createMockModel, MESSAGES, redisKeys } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { injectClient, type PredictClient, type PredictResponse } from '../../../test/support/predict-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildAppWithNotifier, type AppDeps } from '../src/app.js';
import type { JobNotifier } from '../src/waiting/job-notifier.js';
import { bearer, KEY_A, KEY_B } from './keyed-app.js';
import { startAppOnOwnRedis, TEST_CONFIG } from './build-test-app.js';

const STILL_PROCESSING = JSON.stringify({ error: MESSAGES.stillProcessing });
const NOT_FOUND = JSON.stringify({ error: MESSAGES.notFound });

let t: TestRedis;
let built: { app: FastifyInstance; notifier: JobNotifier; client: PredictClient }[] = [];

beforeEach(() => {
  t = testRedis();
  built = [];
});

afterEach(async () => {
  try {
    await Promise.all(built.map(({ app }) => app.close()));
  } finally {
    await t.cleanup();
  }
});

interface Built {
  readonly app: FastifyInstance;
  readonly notifier: JobNotifier;
  readonly client: PredictClient;
}

async function build(
  config: Partial<AppDeps['config']> = {},
  { redis = t.redis, apiKeys = [] as string[] } = {},
): Promise<Built> {
  const { app, notifier } = await buildAppWithNotifier({
    config: { ...TEST_CONFIG, ...config, KEY_PREFIX: t.prefix },
    redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    apiKeys,
  });
  const made = { app, notifier, client: injectClient(app) };
  built.push(made);
  return made;
}

/** What the consumers' finish script does for a success: the outcome in the hash, then the id on the channel. */
async function finish(id: string, result: string, { announce = true } = {}): Promise<void> {
  await t.redis.hset(t.keys.job(id), 'status', 'succeeded', 'result', result, 'finished', String(Date.now()));
  if (announce) await t.redis.publish(t.keys.done, id);
}

const get = (client: PredictClient, id: string, query = '', headers: Record<string, string> = {}) =>
  client.send({ method: 'GET', url: `/predict/${id}${query}`, headers });

/** Records the moment a request answers, into the test's event log. */
function tracked(events: string[], name: string, pending: Promise<PredictResponse>): Promise<PredictResponse> {
  return pending.then((response) => {
    events.push(name);
    return response;
  });
}

describe('GET /predict/{id} with a wait', () => {
  it('answers as soon as the job finishes, not before', async () => {
    const { client, notifier } = await build();
    const id = await client.submit('held');
    const events: string[] = [];
    const answer = tracked(events, 'answered', get(client, id, '?wait=60'));
    await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
    events.push('finishing');
    await finish(id, '4242');
    const response = await answer;
    expect(events).toEqual(['finishing', 'answered']);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ prediction_id: id, output: { input: 'held', result: '4242' } });
    // A query parameter is no preference: nothing to name.
    expect(response.headers['preference-applied']).toBeUndefined();
    expect(notifier.waiters()).toBe(0);
  });

  it('counts the waiting requests in foretell_waiting_requests while they wait', async () => {
    const { client, notifier } = await build();
    const gauge = async () =>
      /^foretell_waiting_requests (\d+)$/m.exec((await client.send({ method: 'GET', url: '/metrics' })).body)?.[1];
    expect(await gauge()).toBe('0');
    const id = await client.submit('watched');
    const answer = get(client, id, '?wait=60');
    await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
    expect(await gauge()).toBe('1');
    await finish(id, '7');
    expect((await answer).status).toBe(200);
    expect(await gauge()).toBe('0');
  });

  it('with Prefer: wait, names the wait applied, capped at MAX_WAIT_SECONDS, and answers the usual 400 when it runs out', async () => {
    const { client, notifier } = await build({ MAX_WAIT_SECONDS: 1 });
    const id = await client.submit('never finishes');
    const response = await get(client, id, '', { prefer: 'wait=3600' });
    expect(response.status).toBe(400);
    expect(response.body).toBe(STILL_PROCESSING);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.headers['preference-applied']).toBe('wait=1');
    expect(notifier.waiters()).toBe(0);
  });

  it('answers an unknown id 404 at once, and a finished job at once', async () => {
    const { client, notifier } = await build({ MAX_WAIT_SECONDS: 3600 });
    // A 404 held for an hour would fail the test at its deadline.
    const unknown = await get(client, randomUUID(), '?wait=3600');
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 404, body: NOT_FOUND });
    expect((await get(client, 'not-a-uuid', '?wait=3600')).status).toBe(404);
    const id = await client.submit('done already');
    await finish(id, '1234');
    const done = await get(client, id, '', { prefer: 'wait=3600' });
    expect(done.status).toBe(200);
    expect(done.headers['preference-applied']).toBe('wait=3600');
    expect(notifier.waiters()).toBe(0);
  });

  it('refuses a malformed wait query with 400 and our error body; ignores a malformed Prefer', async () => {
    const { client } = await build();
    const id = await client.submit('x');
    for (const query of ['?wait=abc', '?wait=-1', '?wait=1.5', '?wait=', '?wait=1&wait=2']) {
      const response = await get(client, id, query);
      expect(response.status, query).toBe(400);
      const body = JSON.parse(response.body) as { error: string; code: string };
      expect(body.code, query).toBe('INVALID_REQUEST');
      expect(body.error, query).toMatch(/^Invalid request: querystring/);
    }
    // RFC 7240: preferences that are unknown or malformed are ignored; the usual answer at once.
    for (const prefer of ['wait=abc', 'wait=-3', 'wait', 'handling=lenient', ';;,,=', 'wait=1.5']) {
      const response = await get(client, id, '', { prefer });
      expect({ prefer, status: response.status, body: response.body }).toEqual({
        prefer,
        status: 400,
        body: STILL_PROCESSING,
      });
      expect(response.headers['preference-applied'], prefer).toBeUndefined();
    }
    // The first of a repeated preference counts; quoted values and parameters are read.
    const quoted = await get(client, id, '', { prefer: 'handling=strict; x=1, wait="0", wait=30' });
    expect(quoted.headers['preference-applied']).toBe('wait=0');
  });

  it('reads a job that finished between the subscription and the read, and one announced while it was read', async () => {
    const { client, notifier } = await build();
    // Deterministic races: the job finishes inside the read's own round trip, once before the
    // HGETALL (the read sees it) and once after it (only the announcement can tell).
    const before = await client.submit('finished before the read');
    const after = await client.submit('finished after the read');
    const reader = new Redis(t.url);
    try {
      const original = t.redis.hgetall.bind(t.redis);
      let finishNext: 'before' | 'after' | undefined;
      const hgetall = async (key: string) => {
        const step = finishNext;
        finishNext = undefined;
        // Subscribed first: by the first read Redis has our subscription.
        const [, subscribers] = (await reader.pubsub('NUMSUB', t.keys.done)) as [string, number];
        expect(subscribers).toBe(1);
        if (step === 'before') await finish(before, '1');
        const hash = await original(key);
        if (step === 'after') await finish(after, '2');
        return hash;
      };
      Object.assign(t.redis, { hgetall });
      finishNext = 'before';
      const first = await get(client, before, '?wait=60');
      expect(first.status).toBe(200);
      finishNext = 'after';
      const second = await get(client, after, '?wait=60');
      expect(second.status).toBe(200);
      expect(JSON.parse(second.body)).toEqual({
        prediction_id: after,
        output: { input: 'finished after the read', result: '2' },
      });
      expect(notifier.waiters()).toBe(0);
    } finally {
      Reflect.deleteProperty(t.redis, 'hgetall');
      await reader.quit();
    }
  });

  it('re-reads its job when the subscriber reconnects: an announcement missed meanwhile is not waited for', async () => {
    const name = `long-poll-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(t.url, { connectionName: name });
    try {
      const { client, notifier } = await build({}, { redis });
      const id = await client.submit('missed');
      const answer = get(client, id, '?wait=60');
      await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
      // Finished while no announcement reaches the API (not published), then the subscriber drops.
      await finish(id, '77', { announce: false });
      const subscriberId = await waitFor(async () => clientIdNamed(`${name}:waits`), { what: 'the subscriber' });
      await t.redis.client('KILL', 'ID', subscriberId);
      const response = await answer;
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ prediction_id: id, output: { input: 'missed', result: '77' } });
    } finally {
      redis.disconnect();
    }
  });

  it('holds no more than MAX_WAITERS: beyond, it answers at once as without a wait, naming no preference', async () => {
    const { client, notifier } = await build({ MAX_WAITERS: 1 });
    const id = await client.submit('x');
    const held = get(client, id, '', { prefer: 'wait=60' });
    await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
    const refused = await get(client, id, '', { prefer: 'wait=60' });
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 400, body: STILL_PROCESSING });
    expect(refused.headers['preference-applied']).toBeUndefined();
    await finish(id, '9');
    expect((await held).headers['preference-applied']).toBe('wait=60');
  });

  it('with API keys, another key waiting on a job gets the plain 404 at once', async () => {
    const { client } = await build({ MAX_WAIT_SECONDS: 3600 }, { apiKeys: [KEY_A, KEY_B] });
    const id = await client.submit('a', bearer(KEY_A));
    const other = await get(client, id, '?wait=3600', bearer(KEY_B));
    expect({ status: other.status, body: other.body }).toEqual({ status: 404, body: NOT_FOUND });
    const own = get(client, id, '?wait=3600', bearer(KEY_A));
    await finish(id, '5');
    expect((await own).status).toBe(200);
  });
});

describe('POST /predict with Prefer', () => {
  /** The id of the one job queued under this prefix (the POST holding its answer has not said it yet). */
  async function queuedId(): Promise<string> {
    return waitFor(
      async () => {
        const entries = await t.redis.xrange(t.keys.jobs, '-', '+');
        const fields = entries[0]?.[1] ?? [];
        return fields[fields.indexOf('id') + 1];
      },
      { what: 'the queued job' },
    );
  }

  it('async with a wait: a job done in time answers 200 with the sync body', async () => {
    const { client, notifier } = await build();
    const events: string[] = [];
    const answer = tracked(
      events,
      'answered',
      client.post({ input: 'quick' }, { 'async-mode': 'true', prefer: 'wait=60' }),
    );
    const id = await queuedId();
    await waitFor(() => notifier.waiters() === 1, { what: 'the waiter' });
    events.push('finishing');
    await finish(id, '31337');
    const response = await answer;
    expect(events).toEqual(['finishing', 'answered']);
    expect(response.status).toBe(200);
    expect(response.body).toBe(JSON.stringify({ input: 'quick', result: '31337' }));
    expect(response.headers['preference-applied']).toBe('wait=60');
    expect(response.headers.location).toBeUndefined();
  });

  it('async with a wait that runs out: the usual 202 with its Location', async () => {
    const { client } = await build({ MAX_WAIT_SECONDS: 1 });
    const response = await client.post({ input: 'slow' }, { 'async-mode': 'true', prefer: 'wait=5' });
    expect(response.status).toBe(202);
    const { prediction_id: id, ...rest } = JSON.parse(response.body) as { prediction_id: string; message: string };
    expect(rest).toEqual({ message: 'Request received. Processing asynchronously.' });
    expect(response.headers.location).toBe(`/predict/${id}`);
    expect(response.headers['preference-applied']).toBe('wait=1');
  });

  it('Prefer: respond-async queues like Async-Mode: true, and says so', async () => {
    const { client } = await build();
    const response = await client.post({ input: 'x' }, { prefer: 'respond-async' });
    expect(response.status).toBe(202);
    expect(response.headers['preference-applied']).toBe('respond-async');
    const both = await client.post({ input: 'y' }, { prefer: 'respond-async, wait=0' });
    expect(both.status).toBe(202);
    expect(both.headers['preference-applied']).toBe('respond-async, wait=0');
  });

  it('changes nothing without a preference: sync stays sync, Async-Mode answers as before', async () => {
    const { client } = await build();
    const sync = await client.post({ input: 'x' }, { prefer: 'wait=10' });
    expect(sync.status).toBe(200);
    expect(sync.headers['preference-applied']).toBeUndefined();
    const queued = await client.post({ input: 'x' }, { 'async-mode': 'true', prefer: 'nonsense' });
    expect(queued.status).toBe(202);
    expect(queued.headers['preference-applied']).toBeUndefined();
  });
});

/** The id of the connection of that name, per CLIENT LIST. */
async function clientIdNamed(name: string): Promise<string | undefined> {
  return namedClients(name).then((ids) => ids[0]);
}

async function namedClients(name: string): Promise<string[]> {
  const list = (await t.redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1] ?? '');
}

describe('many waiters on a listening server', () => {
  /** A GET with a wait over a real socket; `abort` hangs up before the answer. */
  function rawGet(port: number, path: string): { answer: Promise<number>; abort: () => void } {
    const request = httpRequest({ port, path, agent: false });
    const answer = new Promise<number>((resolve, reject) => {
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
    });
    request.end();
    return { answer, abort: () => request.destroy() };
  }

  it('thousands of waits and hang-ups leave no waiter, over one subscriber connection', async () => {
    const name = `long-poll-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(t.url, { connectionName: name });
    try {
      const { app, client, notifier } = await build({ MAX_CONNECTIONS: 10_000 }, { redis });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const port = Number(new URL(address).port);
      const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => client.submit(`job ${i}`)));
      const WAITS = 2000;
      const waits = Array.from({ length: WAITS }, (_, i) => rawGet(port, `/predict/${ids[i % ids.length]}?wait=60`));
      await waitFor(() => notifier.waiters() === WAITS, { what: `${WAITS} waiters` });
      expect(await namedClients(`${name}:waits`)).toHaveLength(1);
      const [, subscribers] = (await t.redis.pubsub('NUMSUB', t.keys.done)) as [string, number];
      expect(subscribers).toBe(1);
      // Half hang up: their waiters go at once, before any job finishes.
      const aborted = waits.filter((_, i) => i % 2 === 0);
      for (const wait of aborted) {
        wait.abort();
        wait.answer.catch(() => undefined);
      }
      await waitFor(() => notifier.waiters() === WAITS / 2, { what: 'the hung-up waiters freed' });
      // The others are answered as their jobs finish.
      await Promise.all(ids.map((id, i) => finish(id, String(i))));
      const statuses = await Promise.all(waits.filter((_, i) => i % 2 === 1).map((wait) => wait.answer));
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(notifier.waiters()).toBe(0);
      expect(await namedClients(`${name}:waits`)).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  it('on close, answers its waiters at once with their current answer and closes its subscriber', async () => {
    const name = `long-poll-${randomUUID().slice(0, 8)}`;
    const redis = new Redis(t.url, { connectionName: name });
    try {
      const { app, client, notifier } = await build({ MAX_WAIT_SECONDS: 3600 }, { redis });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const port = Number(new URL(address).port);
      const id = await client.submit('never finishes');
      const events: string[] = [];
      const waits = Array.from({ length: 20 }, () => rawGet(port, `/predict/${id}?wait=3600`));
      const answers = Promise.all(waits.map((wait) => wait.answer)).then((statuses) => {
        events.push('answered');
        return statuses;
      });
      await waitFor(() => notifier.waiters() === 20, { what: 'the waiters' });
      // An hour's wait: only the close can end these before the test's deadline.
      await app.close();
      events.push('closed');
      expect(await answers).toEqual(Array.from({ length: 20 }, () => 400));
      expect(events).toEqual(['answered', 'closed']);
      expect(notifier.waiters()).toBe(0);
      await waitFor(async () => (await namedClients(`${name}:waits`)).length === 0, { what: 'the subscriber closed' });
    } finally {
      redis.disconnect();
    }
  });
});

describe('a wait while Redis is down', () => {
  it('answers 503 instead of hanging, and waits again once Redis is back', async () => {
    const prefix = `long-poll-${randomUUID().slice(0, 8)}`;
    const own = await startAppOnOwnRedis(prefix, 200);
    try {
      const { server, redis, client } = own;
      await server.stop({ crash: true });
      await waitFor(() => redis.status !== 'ready', { what: 'the connection to notice the crash' });
      // The first wait opens the subscriber: its SUBSCRIBE times out, the read is the usual 503.
      const down = await get(client, randomUUID(), '?wait=60');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ code: 'REDIS_UNAVAILABLE' });

      await server.restart();
      const keys = redisKeys(prefix);
      // The failed wait asked for the subscription: the notifier subscribes on its own once Redis is back.
      await waitFor(async () => ((await redis.pubsub('NUMSUB', keys.done)) as [string, number])[1] === 1, {
        what: 'resubscribed',
      });
      const id = await waitFor(async () => client.submit('after the outage').catch(() => undefined), {
        what: 'the API to recover',
      });
      const answer = get(client, id, '?wait=60');
      await waitFor(() => own.notifier.waiters() === 1, { what: 'the wait registered' });
      await redis.hset(keys.job(id), 'status', 'succeeded', 'result', '8', 'finished', String(Date.now()));
      await redis.publish(keys.done, id);
      expect((await answer).status).toBe(200);
    } finally {
      await own.dispose();
    }
  });
});
