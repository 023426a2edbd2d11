import { randomUUID } from 'node:crypto';
import { redisKeys, type RedisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { countAnnouncements } from '../fixtures/e2e-announcements.js';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { acceptedId, fetchClient, type PredictClient } from '../support/predict-client.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { TEST_DEADLINE_MS, waitFor } from '../support/wait-for.js';

// Faults for real: processes killed with SIGKILL and SIGTERM, redis-server
// stopped and restarted under load. Every accepted job must end succeeded,
// its result written once.

let redisServer: RedisServer | undefined;
let redis: Redis | undefined;
const processes: AppProcess[] = [];
const closeAfter: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map((app) => app.kill()));
  for (const close of closeAfter.splice(0)) await close();
  redis?.disconnect();
  await redisServer?.dispose();
  redisServer = undefined;
});

interface Cluster {
  /** Never waits more than 3 s for an answer: a hang fails the test. */
  client: PredictClient;
  keys: RedisKeys;
  redis: Redis;
  start(app: 'api' | 'consumer', env?: Record<string, string>): AppProcess;
  /** For `unless`: throws as soon as any process of the test is gone. */
  allRunning: () => void;
}

/** A redis-server of the test's own (AOF on), an API, and helpers to start consumers. */
async function cluster(latencyMs: number): Promise<Cluster> {
  redisServer = await startRedisServer({ appendOnly: true });
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const prefix = `fault-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const common = {
    REDIS_URL: redisServer.url,
    KEY_PREFIX: prefix,
    MODEL_MIN_LATENCY_MS: String(latencyMs),
    MODEL_MAX_LATENCY_MS: String(latencyMs),
    CLAIM_IDLE_MS: '1000',
  };
  const start = (app: 'api' | 'consumer', env: Record<string, string> = {}) => {
    const started = startApp(app, { ...common, ...env });
    processes.push(started);
    return started;
  };
  const allRunning = () => processes.forEach((app) => app.assertRunning());
  const api = start('api', { PORT: String(port), HOST: '127.0.0.1' });
  const client = fetchClient(`http://127.0.0.1:${port}`, 3000);
  await waitForApi(`http://127.0.0.1:${port}`, '/health', api.assertRunning);
  return { client, keys: redisKeys(prefix), redis, start, allRunning };
}

/** POST async; resolves with the id (after checking the 202 contract), or the status of a refusal. */
async function submit(c: Cluster, input: string): Promise<{ id?: string; status: number }> {
  const response = await c.client.post({ input }, { 'async-mode': 'true' });
  return response.status === 202 ? { id: acceptedId(response), status: 202 } : { status: response.status };
}

async function statuses(c: Cluster, ids: string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await c.redis.hget(c.keys.job(id), 'status')) ?? 'missing'));
}

// Each test starts a redis-server and three processes: slow on a busy machine.
describe('faults', { timeout: 60_000 }, () => {
  it('a consumer killed with SIGKILL mid-job: the other reclaims its jobs; each result is stored once', async () => {
    const c = await cluster(300);
    const announcements = await countAnnouncements(c.redis, c.keys);
    closeAfter.push(() => announcements.close());
    // The victim's model never answers in time: it dies holding all ten.
    const victim = c.start('consumer', {
      CONSUMER_NAME: 'victim',
      CONSUMER_CONCURRENCY: '10',
      MODEL_MIN_LATENCY_MS: '600000',
      MODEL_MAX_LATENCY_MS: '600000',
    });
    await waitForLog(victim, 'consumer started');
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) ids.push(await c.client.submit(`job ${i}`));
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'processing'), {
      what: 'the victim holding all ten',
      unless: c.allRunning,
    });

    const survivor = c.start('consumer', { CONSUMER_NAME: 'survivor' });
    await waitForLog(survivor, 'consumer started');
    await victim.kill();
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'succeeded'), {
      timeoutMs: 20_000,
      what: 'every job succeeded',
      unless: survivor.assertRunning,
    });
    expect(await announcements.settled()).toEqual(new Map(ids.map((id) => [id, 1])));
    for (const id of ids) expect(await c.redis.hget(c.keys.job(id), 'attempts')).toBe('2');
    expect(await c.redis.xlen(c.keys.jobs)).toBe(0);
    expect(survivor.lines.some((line) => line.includes('reclaimed entries of a consumer that stopped'))).toBe(true);
  });

  it('a consumer stopped with SIGTERM under load drains and exits 0; a successor takes the rest', async () => {
    const c = await cluster(300);
    const first = c.start('consumer', { CONSUMER_NAME: 'first', CONSUMER_CONCURRENCY: '20' });
    await waitForLog(first, 'consumer started');
    const ids: string[] = [];
    // Every submission must be accepted: c.client.submit throws on anything but the 202 contract.
    const submitting = (async () => {
      for (let i = 0; i < 120; i += 1) ids.push(await c.client.submit(`load ${i}`));
    })();
    await waitFor(async () => ids.length > 30 && Number(await c.redis.hlen(c.keys.job(ids[30] ?? ''))) > 0, {
      what: 'load under way',
      unless: c.allRunning,
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = c.start('consumer', { CONSUMER_NAME: 'second' });
    await submitting;
    expect(ids).toHaveLength(120);
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'succeeded'), {
      timeoutMs: 30_000,
      what: 'all 120 succeeded',
      unless: second.assertRunning,
    });
  });

  it('redis-server stopped and restarted (AOF) during submissions: 503s meanwhile, no hang, no 202 lost', async () => {
    const c = await cluster(100);
    const consumer = c.start('consumer', { CONSUMER_NAME: 'steady' });
    await waitForLog(consumer, 'consumer started');
    const accepted: string[] = [];
    const refused: number[] = [];
    let outage = false;
    let restarted = false;
    // Bounded by time, not by attempts: while the API reconnects after the restart every
    // attempt is a quick 503, and on a loaded machine that takes longer, not fewer tries.
    const deadline = Date.now() + TEST_DEADLINE_MS;
    for (let i = 0; !(restarted && refused.length > 0 && accepted.length >= 200); i += 1) {
      if (Date.now() > deadline) {
        throw new Error(`after ${i} submissions: ${accepted.length} accepted, ${refused.length} refused`);
      }
      const answer = await submit(c, `restart ${i}`);
      if (answer.id) accepted.push(answer.id);
      else refused.push(answer.status);
      if (i === 50) {
        await redisServer?.stop();
        outage = true;
      }
      if (outage && refused.length >= 20 && !restarted) {
        await redisServer?.restart();
        restarted = true;
      }
    }
    expect(restarted).toBe(true);
    expect(new Set(refused)).toEqual(new Set([503]));
    expect(accepted.length).toBeGreaterThanOrEqual(200);
    await waitFor(async () => (await statuses(c, accepted)).every((status) => status === 'succeeded'), {
      timeoutMs: 30_000,
      what: 'every accepted job succeeded',
      unless: c.allRunning,
    });
    // Neither process died.
    c.allRunning();
  });
});
