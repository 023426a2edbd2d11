import { randomUUID } from 'node:crypto';
import { mockResult } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// The real processes, as `npm start` runs them: the built API and consumer
// on the run's redis-server, a model taking a whole second per job.
const prefix = `e2e-${randomUUID().slice(0, 8)}`;
let api: AppProcess;
let consumer: AppProcess;
let base: string;
let redis: Redis;

const env = () => ({
  REDIS_URL: inject('redisUrl'),
  KEY_PREFIX: prefix,
  MODEL_MIN_LATENCY_MS: '1000',
  MODEL_MAX_LATENCY_MS: '1000',
});

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  redis = new Redis(inject('redisUrl'));
  api = startApp('api', { ...env(), PORT: String(port), HOST: '127.0.0.1' });
  consumer = startApp('consumer', { ...env(), CONSUMER_NAME: 'e2e-consumer' });
  await waitFor(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200, {
    timeoutMs: 15_000,
    what: 'API ready',
  });
});

afterAll(async () => {
  await Promise.all([api.kill(), consumer.kill()]);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

async function submit(input: string): Promise<string> {
  const response = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Async-Mode': 'true' },
    body: JSON.stringify({ input }),
  });
  expect(response.status).toBe(202);
  expect(response.headers.get('location')).toMatch(/^\/predict\/[0-9a-f-]{36}$/);
  const body = (await response.json()) as { message: string; prediction_id: string };
  expect(body.message).toBe('Request received. Processing asynchronously.');
  return body.prediction_id;
}

describe('the real api and consumer processes', () => {
  it('run async jobs: 400 "still processing" while the model runs, then 200 with the sync result', async () => {
    const inputs = ['first', 'second', 'third', 'fourth', 'fifth'];
    const ids = await Promise.all(inputs.map(submit));

    // The model takes a second, so the first poll finds every job unfinished.
    for (const id of ids) {
      const pending = await fetch(`${base}/predict/${id}`);
      expect(pending.status).toBe(400);
      expect(pending.headers.get('retry-after')).toBe('1');
      expect(await pending.text()).toBe('{"error":"Prediction is still being processed."}');
    }

    for (const [i, id] of ids.entries()) {
      const body = await waitFor(
        async () => {
          const response = await fetch(`${base}/predict/${id}`);
          return response.status === 200 ? await response.text() : undefined;
        },
        { timeoutMs: 10_000, what: `job ${id}` },
      );
      const input = inputs[i] ?? '';
      expect(body).toBe(`{"prediction_id":"${id}","output":{"input":"${input}","result":"${mockResult(input)}"}}`);
    }

    // The sync path gives the same result for the same input.
    const sync = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'first' }),
    });
    expect(sync.status).toBe(200);
    expect(await sync.json()).toEqual({ input: 'first', result: mockResult('first') });

    // The queue is empty and nothing is pending.
    expect(await redis.xlen(`${prefix}:jobs`)).toBe(0);
    const [pending] = (await redis.xpending(`${prefix}:jobs`, `${prefix}:workers`)) as [number];
    expect(pending).toBe(0);
  });

  it('answers 404 for an unknown id and logs as JSON lines', async () => {
    const response = await fetch(`${base}/predict/abc123`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('{"error":"Prediction ID not found."}');
    await waitForLog(consumer, 'consumer started');
    expect(api.lines.some((line) => line.includes('"service":"api"'))).toBe(true);
  });
});
