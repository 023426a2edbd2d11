import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildTestApp } from './build-test-app.js';

let t: TestRedis;
let app: FastifyInstance;

beforeEach(async () => {
  t = testRedis();
  app = await buildTestApp(t.redis, t.prefix);
});

afterEach(async () => {
  await app.close();
  await t.cleanup();
});

describe('probes', () => {
  it('/health answers 200 while the process serves', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('/ready answers 503 until the consumer group exists, then 200', async () => {
    const before = await app.inject({ method: 'GET', url: '/ready' });
    expect(before.statusCode).toBe(503);
    expect(before.headers['retry-after']).toBe('1');
    expect(before.json()).toEqual({
      error: 'The consumer group does not exist yet; start a consumer.',
      code: 'NOT_READY',
    });

    // A stream without the group is still not ready.
    await t.redis.xadd(t.keys.jobs, '*', 'id', 'x', 'input', 'y');
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);

    await t.redis.xgroup('CREATE', t.keys.jobs, t.keys.group, '0');
    const after = await app.inject({ method: 'GET', url: '/ready' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready' });
  });
});
