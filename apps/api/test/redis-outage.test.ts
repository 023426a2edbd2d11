import { mockResult } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictClient, PredictResponse } from '../../../test/support/predict-client.js';
import type { RedisServer } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { startAppOnOwnRedis, type AppOnOwnRedis } from './build-test-app.js';

// A Redis of its own, stopped, paused and restarted under the API, with the
// API's real fail-fast connection (REDIS_TIMEOUT_MS below).
const REDIS_TIMEOUT_MS = 300;
const PREFIX = 'outage';
let own: AppOnOwnRedis | undefined;
let server: RedisServer | undefined;
let redis: Redis | undefined;
let client: PredictClient;

beforeAll(async () => {
  own = await startAppOnOwnRedis(PREFIX, REDIS_TIMEOUT_MS);
  ({ server, redis, client } = own);
});

afterAll(async () => {
  await own?.dispose();
});

const UNAVAILABLE = '{"error":"The queue is unavailable; retry later.","code":"REDIS_UNAVAILABLE"}';
const UNKNOWN_ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';

/** The three routes that need Redis: an async POST, a GET of an id, /ready. */
const NEEDS_REDIS: [string, () => Promise<PredictResponse>][] = [
  ['async POST /predict', () => client.post({ input: 'x' }, { 'async-mode': 'true' })],
  ['GET /predict/{id}', () => client.get(UNKNOWN_ID)],
  ['GET /ready', () => client.send({ method: 'GET', url: '/ready' })],
];

/** What needs no Redis still works: the process is alive, sync predictions run, a non-UUID id is a 404 unasked. */
async function expectServingWithoutRedis(): Promise<void> {
  const health = await client.send({ method: 'GET', url: '/health' });
  expect(health.status).toBe(200);
  const sync = await client.post({ input: 'x' });
  expect(sync.status).toBe(200);
  expect(sync.body).toBe(JSON.stringify({ input: 'x', result: mockResult('x') }));
  const notFound = await client.get('abc123');
  expect(notFound.status).toBe(404);
  expect(notFound.body).toBe('{"error":"Prediction ID not found."}');
}

/** Recovery by itself: submissions are accepted again (polled: the connection comes back in the background). */
async function expectRecovered(): Promise<void> {
  let last: PredictResponse | undefined;
  await waitFor(
    async () => {
      last = await client.post({ input: 'after' }, { 'async-mode': 'true' });
      return last.status === 202;
    },
    { timeoutMs: 10_000, what: 'API to recover' },
  );
  if (last === undefined) throw new Error('no answer');
  const id = JSON.parse(last.body) as { prediction_id: string };
  expect((await client.get(id.prediction_id)).status).toBe(400);
}

describe('while Redis is down (refusing connections)', () => {
  it('answers 503 with Retry-After within a second, and recovers by itself', async () => {
    if (!server || !redis) throw new Error('beforeAll failed');
    await client.submit('before');
    await server.stop({ crash: true });
    // Measured once the connection has seen the crash: then nothing waits on REDIS_TIMEOUT_MS.
    const connection = redis;
    await waitFor(() => connection.status !== 'ready', { what: 'the connection to notice the crash' });

    for (const [what, request] of NEEDS_REDIS) {
      const started = performance.now();
      const response = await request();
      expect(performance.now() - started, what).toBeLessThan(1000);
      expect(response.status, what).toBe(503);
      expect(response.headers['retry-after'], what).toBe('1');
      expect(response.body, what).toBe(UNAVAILABLE);
    }
    await expectServingWithoutRedis();

    await server.restart();
    await expectRecovered();
  });
});

describe('while Redis hangs (connected, never answering)', () => {
  it('answers 503 after about REDIS_TIMEOUT_MS instead of hanging, and recovers when it answers again', async () => {
    if (!server || !redis) throw new Error('beforeAll failed');
    const pid = server.pid;
    if (pid === undefined) throw new Error('redis-server is not running');
    await client.submit('before');

    // SIGSTOP: the kernel still accepts and buffers, the server never replies.
    process.kill(pid, 'SIGSTOP');
    try {
      for (const [what, request] of NEEDS_REDIS) {
        // A generous bound: a hang is what fails here, not a slow machine.
        const deadline = REDIS_TIMEOUT_MS * 20;
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const response = await Promise.race([
          request(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${what}: no answer within ${deadline} ms`)), deadline);
          }),
        ]).finally(() => clearTimeout(timer));
        // Not refused at once: the answer waited on the command timeout (timers may fire a millisecond early).
        expect(performance.now() - started, what).toBeGreaterThanOrEqual(REDIS_TIMEOUT_MS - 5);
        expect(response.status, what).toBe(503);
        expect(response.headers['retry-after'], what).toBe('1');
        expect(response.body, what).toBe(UNAVAILABLE);
      }
      await expectServingWithoutRedis();
      const timedOut = await client.post({ input: 'order 7' }, { 'async-mode': 'true', 'idempotency-key': 'order-7' });
      expect(timedOut.status).toBe(503);
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    await expectRecovered();
    // A 503 after a timeout does not mean "not queued": the command was sent and Redis ran it once awake.
    // The client's retry with its Idempotency-Key gets that job back instead of queuing it twice.
    const retried = await client.post({ input: 'order 7' }, { 'async-mode': 'true', 'idempotency-key': 'order-7' });
    expect(retried.status).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBe('true');
  });
});
