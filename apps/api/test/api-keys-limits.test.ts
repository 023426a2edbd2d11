import { createMockModel, mockResult } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PredictResponse } from '../../../test/support/predict-client.js';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { apiKeyId } from '../src/auth/api-keys.js';
import { buildApp } from '../src/app.js';
import { createApiRedis } from '../src/redis-connection.js';
import { TEST_CONFIG } from './build-test-app.js';
import { bearer, clientWith, KEY_A, KEY_B, useKeyedApps } from './keyed-app.js';

const keyed = useKeyedApps();

const RATE_LIMITED =
  '{"error":"Too many requests with this API key; retry after Retry-After seconds.","code":"RATE_LIMITED"}';
const TOO_MANY_JOBS =
  '{"error":"This API key has too many jobs queued or running; retry once some have finished.","code":"TOO_MANY_JOBS"}';

/** A Retry-After within the one-minute window: whole seconds, 1–60. */
function expectRetryWithinTheMinute(response: PredictResponse): void {
  const seconds = Number(response.headers['retry-after']);
  expect(Number.isInteger(seconds), response.headers['retry-after']).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
}

describe('RATE_LIMIT_PER_MINUTE', () => {
  it('counts the requests of a key across two API instances sharing Redis, then answers 429 with Retry-After', async () => {
    const config = { RATE_LIMIT_PER_MINUTE: 3 };
    const [first, second] = [await keyed.build({ config }), await keyed.build({ config })];
    const [a1, a2] = [clientWith(first, bearer(KEY_A)), clientWith(second, bearer(KEY_A))];

    // Three requests of every kind, spread over both instances: all served.
    expect((await a1.post({ input: 'one' })).status).toBe(200);
    const id = await a2.submit('two');
    expect((await a1.get(id)).status).toBe(400);

    for (const refused of [await a2.post({ input: 'x' }), await a1.post({ input: 'x' }, { 'async-mode': 'true' })]) {
      expect(refused.status).toBe(429);
      expect(refused.body).toBe(RATE_LIMITED);
      expectRetryWithinTheMinute(refused);
    }
    expect((await a2.get(id)).status).toBe(429);
    // The refused async POST queued nothing.
    const { redis, keys } = keyed.t;
    expect(await redis.xlen(keys.jobs)).toBe(1);

    // Another key has a count of its own, on both instances.
    const [b1, b2] = [clientWith(first, bearer(KEY_B)), clientWith(second, bearer(KEY_B))];
    expect((await b1.post({ input: 'b' })).body).toBe(JSON.stringify({ input: 'b', result: mockResult('b') }));
    expect((await b2.post({ input: 'b' })).status).toBe(200);

    // One counter per key in Redis, under the prefix, named by the key's id, living one window.
    const counter = `${keys.rateLimits}:${apiKeyId(KEY_A)}`;
    // 3 served, then one refusal counted by each instance; after its first refusal an instance refuses from memory.
    expect(await redis.get(counter)).toBe('5');
    const ttl = await redis.pttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.get(`${keys.rateLimits}:${apiKeyId(KEY_B)}`)).toBe('2');
  });

  it('refuses a key over its limit from memory, without a Redis write per refused request', async () => {
    const app = await keyed.build({ config: { RATE_LIMIT_PER_MINUTE: 2 } });
    const a = clientWith(app, bearer(KEY_A));
    const counter = `${keyed.t.keys.rateLimits}:${apiKeyId(KEY_A)}`;
    expect((await a.post({ input: 'x' })).status).toBe(200);
    expect((await a.post({ input: 'x' })).status).toBe(200);
    expect((await a.post({ input: 'x' })).status).toBe(429);
    const counted = await keyed.t.redis.get(counter);
    expect(counted).toBe('3');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await a.post({ input: 'x' })).status);
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 429));
    expect(await keyed.t.redis.get(counter)).toBe('3');
  });

  it('does not count requests refused with 401', async () => {
    const app = await keyed.build({ config: { RATE_LIMIT_PER_MINUTE: 1 } });
    const anonymous = clientWith(app, {});
    for (let i = 0; i < 5; i++) expect((await anonymous.post({ input: 'x' })).status).toBe(401);
    expect(await keyed.t.redis.keys(`${keyed.t.keys.rateLimits}*`)).toEqual([]);
    expect((await clientWith(app, bearer(KEY_A)).post({ input: 'x' })).status).toBe(200);
  });
});

describe('MAX_JOBS_PER_KEY', () => {
  it('answers 429 TOO_MANY_JOBS past the cap of jobs queued or running, for that key only, and queues nothing', async () => {
    const app = await keyed.build({ config: { MAX_JOBS_PER_KEY: 2 } });
    const [a, b] = [clientWith(app, bearer(KEY_A)), clientWith(app, bearer(KEY_B))];
    const first = await a.submit('one', { 'idempotency-key': 'first' });
    await a.submit('two');

    const refused = await a.post({ input: 'three' }, { 'async-mode': 'true' });
    expect(refused.status).toBe(429);
    expect(refused.body).toBe(TOO_MANY_JOBS);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const { redis, keys } = keyed.t;
    expect(await redis.xlen(keys.jobs)).toBe(2);

    // A repeat of an accepted submission adds no job: still answered with its id.
    expect(await a.submit('one', { 'idempotency-key': 'first' })).toBe(first);
    // Sync predictions are not jobs; another key has a cap of its own.
    expect((await a.post({ input: 'now' })).status).toBe(200);
    await b.submit('b one');
    await b.submit('b two');
    expect((await b.post({ input: 'b three' }, { 'async-mode': 'true' })).status).toBe(429);
    expect(await redis.xlen(keys.jobs)).toBe(4);
  });
});

describe('while Redis is unreachable', () => {
  // A Redis of its own, stopped under the app, with the API's real fail-fast connection.
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  let app: FastifyInstance | undefined;

  beforeEach(async () => {
    server = await startRedisServer();
    const connection = createApiRedis(server.url, 300, pino({ level: 'silent' }));
    redis = connection;
    await waitFor(() => connection.status === 'ready', { what: 'redis ready' });
    app = await buildApp({
      config: { ...TEST_CONFIG, KEY_PREFIX: 'limits-outage', RATE_LIMIT_PER_MINUTE: 2, MAX_JOBS_PER_KEY: 5 },
      redis: connection,
      model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
      apiKeys: [KEY_A, KEY_B],
    });
  });

  afterEach(async () => {
    const [ownApp, ownRedis, ownServer] = [app, redis, server];
    [app, redis, server] = [undefined, undefined, undefined];
    try {
      await ownApp?.close();
    } finally {
      ownRedis?.disconnect();
      await ownServer?.dispose();
    }
  });

  it('still authenticates and rate-limits sync requests in this process, and answers async ones 503', async () => {
    if (!app || !server || !redis) throw new Error('beforeEach failed');
    const connection = redis;
    await server.stop();
    await waitFor(() => connection.status !== 'ready', { what: 'the API to see Redis gone' });
    const a = clientWith(app, bearer(KEY_A));

    expect((await clientWith(app, {}).post({ input: 'x' })).status).toBe(401);
    expect((await a.post({ input: 'x' })).body).toBe(JSON.stringify({ input: 'x', result: mockResult('x') }));
    expect((await a.post({ input: 'x' })).status).toBe(200);
    const limited = await a.post({ input: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.body).toBe(RATE_LIMITED);

    const b = clientWith(app, bearer(KEY_B));
    const queued = await b.post({ input: 'x' }, { 'async-mode': 'true' });
    expect(queued.status).toBe(503);
    expect(queued.body).toBe('{"error":"The queue is unavailable; retry later.","code":"REDIS_UNAVAILABLE"}');
    expect(queued.headers['retry-after']).toBe('1');
  });
});
