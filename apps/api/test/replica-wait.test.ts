import { redisKeys } from '@foretell/shared';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { injectClient } from '../../../test/support/predict-client.js';
import { startRedisTopology, type RedisTopology } from '../../../test/support/redis-topology.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { loadApiConfig } from '../src/config.js';
import { createApiRedis } from '../src/redis-connection.js';
import { buildTestApp } from './build-test-app.js';

// REDIS_WAIT_REPLICAS: a 202 only once enough replicas have the job.

const disposals: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const dispose of disposals.splice(0).reverse()) await dispose();
});

const WAIT = { REDIS_WAIT_REPLICAS: 1, REDIS_WAIT_TIMEOUT_MS: 100 };

describe('REDIS_WAIT_REPLICAS', () => {
  it('a primary without a replica: 503 NOT_REPLICATED, the job stored all the same; a replay waits again', async () => {
    const t: TestRedis = testRedis();
    disposals.push(() => t.cleanup());
    const app = await buildTestApp(t.redis, t.prefix, { config: WAIT });
    disposals.push(() => app.close());
    const client = injectClient(app);

    const headers = { 'async-mode': 'true', 'idempotency-key': 'wait-1' };
    const first = await client.post({ input: 'x' }, headers);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect(JSON.parse(first.body)).toEqual({
      error:
        'The job is stored but not yet confirmed by enough replicas; it may still run. Retry with the same Idempotency-Key.',
      code: 'NOT_REPLICATED',
    });
    // Stored and queued: a consumer will run it.
    expect(await t.redis.xlen(t.keys.jobs)).toBe(1);
    const again = await client.post({ input: 'x' }, headers);
    expect(again.status).toBe(503);
    expect(await t.redis.xlen(t.keys.jobs)).toBe(1);
  });

  it('a primary with a replica: 202, and the replica has the job when the 202 is sent', async () => {
    const topology: RedisTopology = await startRedisTopology();
    disposals.push(() => topology.dispose());
    // Deadlines, not waits: a replica busy on a loaded machine once took longer than 900 ms to ack.
    const redis = createApiRedis(topology.first.url, 10_000, pino({ level: 'silent' }));
    disposals.push(() => redis.quit());
    // The API's connection has no offline queue: a POST before it is ready is a 503 (one was, on a loaded machine).
    await waitFor(() => redis.status === 'ready', { what: 'redis ready' });
    const app = await buildTestApp(redis, 'wait-ok', { config: { ...WAIT, REDIS_WAIT_TIMEOUT_MS: 9000 } });
    disposals.push(() => app.close());

    const id = await injectClient(app).submit('replicated');
    const replica = topology.connect(topology.second);
    expect(await replica.hget(redisKeys('wait-ok').job(id), 'status')).toBe('queued');
  });

  it('is off by default, and its timeout must be below REDIS_TIMEOUT_MS', () => {
    expect(loadApiConfig({})).toMatchObject({ REDIS_WAIT_REPLICAS: 0, REDIS_WAIT_TIMEOUT_MS: 500 });
    expect(() => loadApiConfig({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' })).toThrow(
      'REDIS_WAIT_TIMEOUT_MS: must be less than REDIS_TIMEOUT_MS when REDIS_WAIT_REPLICAS is set (1000; got 1000)',
    );
    expect(() => loadApiConfig({ REDIS_SENTINELS: 'nope' })).toThrow(/REDIS_SENTINELS: expected host:port/);
  });
});
