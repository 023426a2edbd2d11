import { randomUUID } from 'node:crypto';
import { redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { launchRedis, type LocalRedis } from '../../scripts/lib/local-redis.mjs';
import { startApp, type AppProcess } from '../support/app-process.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let api: AppProcess | undefined;
let server: LocalRedis | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await api?.kill();
  redis?.disconnect();
  await server?.dispose();
  [api, server, redis] = [undefined, undefined, undefined];
});

describe('the API started while Redis is down', () => {
  it('serves: /health 200, /ready and async POSTs 503; once Redis is up it is ready and accepts jobs', async () => {
    const redisPort = await freePort();
    const port = await freePort();
    const prefix = `e2e-down-${randomUUID().slice(0, 8)}`;
    const started = startApp('api', {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KEY_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_TIMEOUT_MS: '300',
    });
    api = started;
    const client = fetchClient(`http://127.0.0.1:${port}`);
    const health = await waitFor(() => client.send({ method: 'GET', url: '/health' }).catch(() => undefined), {
      timeoutMs: 15_000,
      what: 'api listening',
      unless: started.assertRunning,
    });
    expect(health.status).toBe(200);

    const ready = await client.send({ method: 'GET', url: '/ready' });
    expect(ready.status).toBe(503);
    const post = await client.post({ input: 'x' }, { 'async-mode': 'true' });
    expect([post.status, post.headers['retry-after'], post.body]).toEqual([
      503,
      '1',
      '{"error":"The queue is unavailable; retry later.","code":"REDIS_UNAVAILABLE"}',
    ]);

    server = await launchRedis({ port: redisPort });
    const keys = redisKeys(prefix);
    redis = new Redis(server.url);
    // What a consumer does at start: the API is ready once the group exists.
    await redis.xgroup('CREATE', keys.jobs, keys.group, '$', 'MKSTREAM');
    const readyAgain = await waitFor(
      async () => ((await client.send({ method: 'GET', url: '/ready' })).status === 200 ? true : undefined),
      { timeoutMs: 15_000, what: '/ready 200', unless: started.assertRunning },
    );
    expect(readyAgain).toBe(true);
    const id = await client.submit('after the outage');
    expect(await redis.hget(keys.job(id), 'status')).toBe('queued');
  }, 45_000);
});
