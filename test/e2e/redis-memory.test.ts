import { redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { acceptedId, fetchClient } from '../support/predict-client.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// Redis at maxmemory (noeviction), with the real processes: new jobs get a
// clean 503 REDIS_FULL, and a consumer still finishes every job accepted,
// which frees memory, so that the API accepts jobs again by itself.

const PREFIX = 'memory';
const keys = redisKeys(PREFIX);
// Each job holds its input twice (stream entry and hash) until it finishes, once after.
const INPUT = 'x'.repeat(64 * 1024);
const HEADROOM = 8 * 1024 * 1024;

const processes: AppProcess[] = [];
let server: RedisServer | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await Promise.all(processes.splice(0).map((app) => app.kill()));
  await redis?.quit();
  redis = undefined;
  await server?.dispose();
  server = undefined;
});

function start(app: 'api' | 'consumer', env: Record<string, string>): AppProcess {
  const started = startApp(app, env);
  processes.push(started);
  return started;
}

async function usedMemory(connection: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await connection.info('memory'))?.[1]);
}

describe('Redis at maxmemory', { timeout: 120_000 }, () => {
  it('refuses new jobs with 503 REDIS_FULL, finishes every accepted one, and accepts jobs again', async () => {
    server = await startRedisServer();
    const connection = (redis = new Redis(server.url));
    // The group exists, as it does once a consumer has run (creating it needs memory).
    await connection.xgroup('CREATE', keys.jobs, keys.group, '0', 'MKSTREAM');
    const env = {
      REDIS_URL: server.url,
      KEY_PREFIX: PREFIX,
      MODEL_MIN_LATENCY_MS: '0',
      MODEL_MAX_LATENCY_MS: '0',
      // Memory is the only limit here.
      MAX_QUEUE_LENGTH: '0',
      MAX_QUEUE_BYTES: '0',
    };
    const port = await freePort();
    const api = start('api', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const client = fetchClient(`http://127.0.0.1:${port}`);
    await waitForApi(`http://127.0.0.1:${port}`, '/ready', api.assertRunning);
    const maxMemory = (await usedMemory(connection)) + HEADROOM;
    await connection.config('SET', 'maxmemory', String(maxMemory));

    // Fill Redis until a submission is refused.
    const accepted: string[] = [];
    let refusal: Awaited<ReturnType<typeof client.post>> | undefined;
    for (let i = 0; i < 1000 && refusal === undefined; i += 1) {
      const answer = await client.post({ input: INPUT }, { 'async-mode': 'true' });
      if (answer.status === 202) accepted.push(acceptedId(answer));
      else refusal = answer;
    }
    expect(refusal?.status).toBe(503);
    expect(refusal?.body).toBe('{"error":"The queue has no memory left; retry later.","code":"REDIS_FULL"}');
    expect(refusal?.headers['retry-after']).toBe('1');
    // The refusal counted the request's own bytes. Redis past its limit even at rest (a
    // write that overshot it, or an operator lowering it) must still let consumers drain it.
    const usedWhenFull = await usedMemory(connection);
    const limit = usedWhenFull - 1024 * 1024;
    await connection.config('SET', 'maxmemory', String(limit));
    expect((await client.post({ input: 'small' }, { 'async-mode': 'true' })).body).toBe(refusal?.body);
    // Refused whole: no job hash beyond the accepted ones; reads still served.
    expect(await connection.keys(`${keys.jobPrefix}*`)).toHaveLength(accepted.length);
    expect(accepted.length).toBeGreaterThan(10);
    expect((await client.get(accepted[0] ?? '')).status).toBe(400);

    // A consumer started now runs at maxmemory: it starts, finishes and acks every job.
    const consumer = start('consumer', { ...env, CONSUMER_NAME: 'at-maxmemory' });
    await waitForLog(consumer, 'consumer started');
    const statuses = () => Promise.all(accepted.map((id) => connection.hget(keys.job(id), 'status')));
    await waitFor(async () => (await statuses()).every((status) => status === 'succeeded'), {
      timeoutMs: 30_000,
      what: 'every accepted job succeeded',
      unless: consumer.assertRunning,
    });
    expect(await connection.xlen(keys.jobs)).toBe(0);
    expect(await connection.get(keys.backlogBytes)).toBeNull();

    // The stream's copies of the inputs are freed: below the limit again, by far.
    const usedAfter = await usedMemory(connection);
    expect(usedAfter).toBeLessThan(limit);
    expect(usedWhenFull - usedAfter).toBeGreaterThan((accepted.length * INPUT.length) / 2);
    await client.submit(INPUT);
  });
});
