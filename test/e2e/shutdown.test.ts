import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let prefix: string;
let redis: Redis;
const started: AppProcess[] = [];

beforeEach(() => {
  prefix = `e2e-${randomUUID().slice(0, 8)}`;
  redis = new Redis(inject('redisUrl'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.kill()));
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function start(app: 'api' | 'consumer', env: Record<string, string> = {}): AppProcess {
  const process = startApp(app, { REDIS_URL: inject('redisUrl'), KEY_PREFIX: prefix, ...env });
  started.push(process);
  return process;
}

async function enqueueThroughApi(base: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'async-mode': 'true' },
      body: JSON.stringify({ input: `job ${i}` }),
    });
    ids.push(((await response.json()) as { prediction_id: string }).prediction_id);
  }
  return ids;
}

describe('SIGTERM', () => {
  it('drains the consumer: it stops reading, finishes the jobs in hand and exits 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const latency = { MODEL_MIN_LATENCY_MS: '1500', MODEL_MAX_LATENCY_MS: '1500' };
    start('api', { PORT: String(port), HOST: '127.0.0.1', ...latency });
    const consumer = start('consumer', { ...latency, CONSUMER_CONCURRENCY: '8' });
    await waitForLog(consumer, 'consumer started');
    await waitFor(async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok, { what: 'api up' });

    const ids = await enqueueThroughApi(base, 5);
    await waitFor(
      async () => {
        const statuses = await Promise.all(ids.map((id) => redis.hget(`${prefix}:job:${id}`, 'status')));
        return statuses.every((status) => status === 'processing');
      },
      { what: 'all five processing' },
    );
    consumer.child.kill('SIGTERM');
    expect(await consumer.exited).toBe(0);

    for (const id of ids) expect(await redis.hget(`${prefix}:job:${id}`, 'status')).toBe('succeeded');
    expect(await redis.xlen(`${prefix}:jobs`)).toBe(0);
    await waitForLog(consumer, 'consumer stopped');

    // Jobs submitted after it left wait, queued, for the next consumer.
    const [later] = await enqueueThroughApi(base, 1);
    expect(await redis.hget(`${prefix}:job:${later ?? ''}`, 'status')).toBe('queued');
  });

  it('stops the API: it finishes an in-flight sync request, then exits 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const api = start('api', {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug', // to see the request arrive
      MODEL_MIN_LATENCY_MS: '1000',
      MODEL_MAX_LATENCY_MS: '1000',
    });
    await waitFor(async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok, { what: 'api up' });
    const inFlight = fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":"last one"}',
    });
    await waitFor(() => api.lines.some((line) => line.includes('"url":"/predict"')), { what: 'POST received' });
    api.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await api.exited).toBe(0);
  });
});

describe('configuration', () => {
  it('a bad value stops the process with a message naming each bad variable', async () => {
    const api = start('api', { PORT: 'eighty', RESULT_TTL_SECONDS: '-5', MODEL_MIN_LATENCY_MS: '10' });
    expect(await api.exited).toBe(1);
    const output = api.lines.join('\n');
    expect(output).toContain('invalid configuration');
    expect(output).toMatch(/PORT: .*"eighty"/);
    expect(output).toMatch(/RESULT_TTL_SECONDS: .*-5/);

    const consumer = start('consumer', {
      CONSUMER_CONCURRENCY: '0',
      MODEL_MIN_LATENCY_MS: '9',
      MODEL_MAX_LATENCY_MS: '3',
    });
    expect(await consumer.exited).toBe(1);
    expect(consumer.lines.join('\n')).toMatch(/CONSUMER_CONCURRENCY: .*"0"/);
  });
});
