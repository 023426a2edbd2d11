import { hostname } from 'node:os';
import { mockResult } from '@foretell/shared';
import { describe, expect, inject, it } from 'vitest';
import { countAnnouncements } from '../fixtures/e2e-announcements.js';
import { endedWithQuit, startRedisRelay } from '../support/redis-relay.js';
import { type AppProcess, waitForLog } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { waitFor } from '../support/wait-for.js';

// Every model call here is held until the test releases it, so "still
// running" is a fact when a signal is sent, on a fast machine or a slow one.

const apps = useAppsOnPrefix('e2e', { gated: true });
const { start, startApi } = apps;

function logged(app: AppProcess, message: string): boolean {
  return app.lines.some((line) => line.includes(`"msg":"${message}"`));
}

/** The names of the connections the run's Redis has open. */
async function clientNames(): Promise<string[]> {
  const list = (await apps.redis.client('LIST')) as string;
  return [...list.matchAll(/ name=(\S*)/g)].map((match) => match[1] ?? '');
}

describe('SIGTERM to the consumer', () => {
  it('drains: it stops reading, finishes the jobs in hand, announces each once and exits 0', async () => {
    const { client } = await startApi();
    const consumer = start('consumer', { CONSUMER_CONCURRENCY: '8', SHUTDOWN_GRACE_MS: '600000' });
    await waitForLog(consumer, 'consumer started');
    const announcements = await countAnnouncements(apps.redis, apps.keys);
    apps.onCleanup(() => announcements.close());

    const inputs = ['a', 'b', 'c', 'd', 'e'].map((letter) => `job ${letter}`);
    const ids: string[] = [];
    for (const input of inputs) ids.push(await client.submit(input));
    await apps.gate.held(inputs.length, { unless: consumer.assertRunning });
    for (const id of ids) expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('processing');

    consumer.child.kill('SIGTERM');
    // Logged once reading has ended: from here on nothing new is taken.
    await waitForLog(consumer, 'draining jobs in hand');
    expect(consumer.child.exitCode).toBeNull();
    const later = await client.submit('submitted during the drain');
    // One token more than the jobs in hand: had the consumer read the later job, it would run it too.
    await apps.gate.release(inputs.length + 1);
    expect(await consumer.exited).toBe(0);

    for (const id of ids) expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('succeeded');
    expect(await announcements.settled()).toEqual(new Map(ids.map((id) => [id, 1])));
    expect(logged(consumer, 'consumer stopped')).toBe(true);
    // The later job never reached the model: it waits, queued and undelivered, for the next consumer.
    expect([...(await apps.gate.held(0))].sort()).toEqual(inputs);
    expect(await apps.redis.hget(apps.keys.job(later), 'status')).toBe('queued');
    expect(await apps.redis.xlen(apps.keys.jobs)).toBe(1);
    const [pending] = (await apps.redis.xpending(apps.keys.jobs, apps.keys.group)) as [number];
    expect(pending).toBe(0);
  });

  it('a second SIGTERM while it drains makes it exit at once, non-zero, leaving the job pending', async () => {
    const { client } = await startApi();
    const consumer = start('consumer', { SHUTDOWN_GRACE_MS: '600000' });
    await waitForLog(consumer, 'consumer started');
    const id = await client.submit('never finished');
    await apps.gate.held(1, { unless: consumer.assertRunning });

    consumer.child.kill('SIGTERM');
    await waitForLog(consumer, 'draining jobs in hand');
    consumer.child.kill('SIGTERM');
    // The model is still held: only the forced exit can end the process.
    expect(await consumer.exited).toBe(1);
    expect(logged(consumer, 'second SIGTERM, exiting')).toBe(true);
    expect(logged(consumer, 'consumer stopped')).toBe(false);
    expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('processing');
    const [pending] = (await apps.redis.xpending(apps.keys.jobs, apps.keys.group)) as [number];
    expect(pending).toBe(1);
  });
});

describe('SIGTERM to the API', () => {
  it('finishes an in-flight sync request, refuses new ones with 503, closes Redis with QUIT, exits 0', async () => {
    // Only the API's own connection goes through the proxy (the model's go straight to Redis).
    const proxy = await startRedisRelay(inject('redisUrl'), { record: true });
    apps.onCleanup(() => proxy.close());
    const { api, client } = await startApi({ REDIS_URL: proxy.url });
    // Named, so that an operator can tell its connection in CLIENT LIST (it may still be connecting).
    const name = `foretell-api:${hostname()}-${api.child.pid}`;
    await waitFor(async () => (await clientNames()).includes(name), { what: name, unless: api.assertRunning });

    const inFlight = client.post({ input: 'last one' });
    await apps.gate.held(1, { unless: api.assertRunning });
    api.child.kill('SIGTERM');
    await waitForLog(api, 'waiting for in-flight requests');
    const refused = await client.send({ method: 'GET', url: '/health' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe('{"error":"The server is shutting down; retry shortly.","code":"SHUTTING_DOWN"}');

    await apps.gate.release(1);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`{"input":"last one","result":"${mockResult('last one')}"}`);
    expect(await api.exited).toBe(0);

    // Its one connection ended with QUIT, sent before it exited; Redis no longer lists it.
    await waitFor(() => proxy.connections.every((connection) => connection.closed), {
      what: 'proxied connections closed',
    });
    expect(proxy.connections.map(endedWithQuit)).toEqual([true]);
    expect(logged(api, 'apps.redis quit failed')).toBe(false);
    expect(await clientNames()).not.toContain(name);
  });

  it('a second SIGTERM while it drains makes it exit at once, non-zero, without answering', async () => {
    const { api, client } = await startApi();
    // Settled at once (as a value), so that its failure is never an unhandled rejection.
    const inFlight = client.post({ input: 'cut short' }).then(
      (response) => `answered ${response.status}`,
      () => 'no answer',
    );
    await apps.gate.held(1, { unless: api.assertRunning });

    api.child.kill('SIGTERM');
    await waitForLog(api, 'waiting for in-flight requests');
    api.child.kill('SIGTERM');
    // The model is still held: only the forced exit can end the process.
    expect(await api.exited).toBe(1);
    expect(logged(api, 'second SIGTERM, exiting')).toBe(true);
    expect(logged(api, 'stopped')).toBe(false);
    expect(await inFlight).toBe('no answer');
  });
});

describe('configuration', () => {
  it('a bad value stops the process with a message naming every bad variable', async () => {
    const api = start('api', {
      PORT: 'eighty',
      RESULT_TTL_SECONDS: '-5',
      MODEL_MIN_LATENCY_MS: '20',
      MODEL_MAX_LATENCY_MS: '10',
    });
    expect(await api.exited).toBe(1);
    expect(api.lines).toEqual([
      'foretell api: invalid configuration:',
      '  PORT: must be integer (got "eighty")',
      '  RESULT_TTL_SECONDS: must be >= 1 (got "-5")',
      '  MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got 20 > 10)',
    ]);

    const consumer = start('consumer', {
      CONSUMER_CONCURRENCY: '0',
      MODEL_MIN_LATENCY_MS: '9',
      MODEL_MAX_LATENCY_MS: '3',
    });
    expect(await consumer.exited).toBe(1);
    expect(consumer.lines).toEqual([
      'foretell consumer: invalid configuration:',
      '  CONSUMER_CONCURRENCY: must be >= 1 (got "0")',
      '  MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got 9 > 3)',
    ]);
  });
});
