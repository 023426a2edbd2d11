import { createMockModel } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { buildApp } from '../src/app.js';
import { createApiRedis } from '../src/redis-connection.js';
import { TEST_CONFIG } from './build-test-app.js';

// A Redis of its own, stopped and restarted under the API, with the API's
// real fail-fast connection.
let server: RedisServer;
let redis: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createApiRedis(server.url, 500, pino({ level: 'silent' }));
  await waitFor(() => redis.status === 'ready', { what: 'redis ready' });
  app = await buildApp({
    config: { ...TEST_CONFIG, KEY_PREFIX: 'outage' },
    redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
  });
});

afterAll(async () => {
  await app.close();
  redis.disconnect();
  await server.dispose();
});

const UNAVAILABLE = { error: 'The queue is unavailable; retry later.', code: 'REDIS_UNAVAILABLE' };
const submit = () =>
  app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'application/json', 'async-mode': 'true' },
    payload: '{"input":"x"}',
  });

describe('while Redis is down', () => {
  it('answers 503 with Retry-After within a second, and recovers by itself', async () => {
    expect((await submit()).statusCode).toBe(202);
    await server.stop({ crash: true });

    for (const request of [
      submit,
      () => app.inject({ method: 'GET', url: '/predict/3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11' }),
      () => app.inject({ method: 'GET', url: '/ready' }),
    ]) {
      const started = performance.now();
      const response = await request();
      expect(performance.now() - started).toBeLessThan(1000);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toEqual(UNAVAILABLE);
    }

    // The process is alive, and what needs no Redis still works.
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const sync = await app.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'application/json' },
      payload: '{"input":"x"}',
    });
    expect(sync.statusCode).toBe(200);
    // A non-UUID id can name no job: 404 without asking Redis.
    expect((await app.inject({ method: 'GET', url: '/predict/abc123' })).statusCode).toBe(404);

    await server.restart();
    await waitFor(async () => (await submit()).statusCode === 202, { timeoutMs: 10_000, what: 'API to recover' });
  });
});
