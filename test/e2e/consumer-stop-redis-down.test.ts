import { randomUUID } from 'node:crypto';
import { ENQUEUE_JOB_LUA, enqueueJobArgs, redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { modelGate } from '../fixtures/e2e-model-gate.js';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';

// A consumer told to stop while its Redis is down must not wait for Redis:
// its connections retry for ever, and a stop that waited on them used to
// last the grace period plus closeWithGrace's 5 s, then exit 1. The timings
// asserted are upper bounds, the product's promise (SHUTDOWN_GRACE_MS), with
// a margin for a loaded machine well below those 5 s.

const STOP_MARGIN_MS = 3000;

let server: RedisServer | undefined;
let direct: Redis | undefined;
let shared: Redis | undefined;
let sharedPrefix: string | undefined;
const started: AppProcess[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.kill()));
  direct?.disconnect();
  if (shared && sharedPrefix) {
    const found = await shared.keys(`${sharedPrefix}:*`);
    if (found.length > 0) await shared.del(...found);
    await shared.quit();
  }
  await server?.dispose();
  [server, direct, shared, sharedPrefix] = [undefined, undefined, undefined, undefined];
});

function startConsumer(env: Record<string, string>): AppProcess {
  const consumer = startApp('consumer', { CONSUMER_NAME: `stop-${randomUUID().slice(0, 8)}`, ...env });
  started.push(consumer);
  return consumer;
}

/** Sends SIGTERM; resolves with the exit code and how long after the signal the process was gone. */
async function stop(consumer: AppProcess): Promise<{ code: number | string; tookMs: number }> {
  const exitedAt = new Promise<number>((resolve) => consumer.child.once('exit', () => resolve(Date.now())));
  const signalledAt = Date.now();
  consumer.child.kill('SIGTERM');
  const tookMs = (await exitedAt) - signalledAt;
  return { code: await consumer.exited, tookMs };
}

function logged(consumer: AppProcess, message: string): boolean {
  return consumer.lines.some((line) => line.includes(`"msg":"${message}"`));
}

const GAVE_UP = 'Redis unreachable while stopping: exiting without it; jobs in hand stay pending for another consumer';

describe('SIGTERM to a consumer whose Redis is down', () => {
  it('with nothing in hand: exits 0 within the grace period, without waiting for Redis', async () => {
    server = await startRedisServer();
    const graceMs = 10_000;
    const consumer = startConsumer({
      REDIS_URL: server.url,
      KEY_PREFIX: `stop-${randomUUID().slice(0, 8)}`,
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    await waitForLog(consumer, 'consumer started', 20_000);
    await server.stop();
    // The consumer has seen the outage: it is retrying, its commands queued.
    await waitForLog(consumer, 'redis connection error');

    const { code, tookMs } = await stop(consumer);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(graceMs);
    expect(logged(consumer, GAVE_UP)).toBe(true);
  }, 60_000);

  it('started while Redis was down, never connected: exits 0 within the grace period', async () => {
    const graceMs = 10_000;
    const consumer = startConsumer({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      KEY_PREFIX: `stop-${randomUUID().slice(0, 8)}`,
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    await waitForLog(consumer, 'redis connection error', 20_000);

    const { code, tookMs } = await stop(consumer);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(graceMs);
    // The start that was waiting for Redis did not crash the stop.
    expect(consumer.lines.filter((line) => !line.startsWith('{'))).toEqual([]);
  }, 60_000);

  it('with a job in hand: gives it the grace period, exits 0, and the job stays pending in the group', async () => {
    server = await startRedisServer({ appendOnly: true });
    direct = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    direct.on('error', () => undefined);
    const prefix = `stop-${randomUUID().slice(0, 8)}`;
    const keys = redisKeys(prefix);
    // The model is held on the run's Redis, which stays up: the call is provably running when Redis goes.
    shared = new Redis(inject('redisUrl'));
    sharedPrefix = prefix;
    const gate = modelGate(shared, prefix, inject('redisUrl'));
    const graceMs = 4000;
    const name = `stop-${randomUUID().slice(0, 8)}`;
    const consumer = startConsumer({
      REDIS_URL: server.url,
      KEY_PREFIX: prefix,
      CONSUMER_NAME: name,
      SHUTDOWN_GRACE_MS: String(graceMs),
      ...gate.env,
    });
    const id = randomUUID();
    await direct.eval(
      ENQUEUE_JOB_LUA,
      ...enqueueJobArgs(keys, { id, input: 'in hand', ttlSeconds: 3600, maxQueueLength: 0, maxQueueBytes: 0 }),
    );
    await gate.held(1, { unless: consumer.assertRunning, timeoutMs: 20_000 });
    direct.disconnect();
    await server.stop();
    await waitForLog(consumer, 'redis connection error');

    const { code, tookMs } = await stop(consumer);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(graceMs + STOP_MARGIN_MS);
    expect(logged(consumer, GAVE_UP)).toBe(true);
    // Never released: the call was still running when the process left.
    expect(await gate.held(1)).toEqual(['in hand']);

    // Redis back (from its AOF): the job is still processing, its entry pending under the stopped consumer.
    await server.restart();
    direct = new Redis(server.url);
    expect(await direct.hget(keys.job(id), 'status')).toBe('processing');
    const [count, , , consumers] = (await direct.xpending(keys.jobs, keys.group)) as [
      number,
      string,
      string,
      [string, string][],
    ];
    expect([count, consumers]).toEqual([1, [[name, '1']]]);
  }, 60_000);
});
