import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// Faults for real: processes killed with SIGKILL and SIGTERM, redis-server
// stopped and restarted under load. Every accepted job must end succeeded,
// its result written once.

let redisServer: RedisServer | undefined;
let redis: Redis | undefined;
const processes: AppProcess[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map((app) => app.kill()));
  redis?.disconnect();
  await redisServer?.dispose();
  redisServer = undefined;
});

interface Cluster {
  base: string;
  prefix: string;
  redis: Redis;
  start(app: 'api' | 'consumer', env?: Record<string, string>): AppProcess;
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
  start('api', { PORT: String(port), HOST: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok, { what: 'api up' });
  return { base, prefix, redis, start };
}

/** POST async; resolves with the id, or the status of a refusal. Never waits more than 3 s. */
async function submit(base: string, input: string): Promise<{ id?: string; status: number }> {
  const response = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'async-mode': 'true' },
    body: JSON.stringify({ input }),
    signal: AbortSignal.timeout(3000),
  });
  const body = (await response.json()) as { prediction_id?: string };
  return { status: response.status, ...(body.prediction_id && { id: body.prediction_id }) };
}

/** Counts, per id, how often `{prefix}:done` announced it: each announcement is one write of an outcome. */
async function countAnnouncements(c: Cluster): Promise<{ counts: Map<string, number>; stop(): Promise<void> }> {
  const subscriber = c.redis.duplicate();
  const counts = new Map<string, number>();
  subscriber.on('message', (_channel: string, id: string) => counts.set(id, (counts.get(id) ?? 0) + 1));
  await subscriber.subscribe(`${c.prefix}:done`);
  return { counts, stop: async () => void (await subscriber.quit()) };
}

async function statuses(c: Cluster, ids: string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await c.redis.hget(`${c.prefix}:job:${id}`, 'status')) ?? 'missing'));
}

describe('faults', () => {
  it('a consumer killed with SIGKILL mid-job: the other reclaims its jobs; each result is stored once', async () => {
    const c = await cluster(300);
    const announcements = await countAnnouncements(c);
    // The victim's model never answers in time: it dies holding all ten.
    const victim = c.start('consumer', {
      CONSUMER_NAME: 'victim',
      CONSUMER_CONCURRENCY: '10',
      MODEL_MIN_LATENCY_MS: '600000',
      MODEL_MAX_LATENCY_MS: '600000',
    });
    await waitForLog(victim, 'consumer started');
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) ids.push((await submit(c.base, `job ${i}`)).id ?? '');
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'processing'), {
      what: 'the victim holding all ten',
    });

    const survivor = c.start('consumer', { CONSUMER_NAME: 'survivor' });
    await waitForLog(survivor, 'consumer started');
    await victim.kill();
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'succeeded'), {
      timeoutMs: 20_000,
      what: 'every job succeeded',
    });
    await announcements.stop();
    expect(ids.map((id) => announcements.counts.get(id))).toEqual(ids.map(() => 1));
    for (const id of ids) expect(await c.redis.hget(`${c.prefix}:job:${id}`, 'attempts')).toBe('2');
    expect(await c.redis.xlen(`${c.prefix}:jobs`)).toBe(0);
    expect(survivor.lines.some((line) => line.includes('reclaimed entries of a consumer that stopped'))).toBe(true);
  });

  it('a consumer stopped with SIGTERM under load drains and exits 0; a successor takes the rest', async () => {
    const c = await cluster(300);
    const first = c.start('consumer', { CONSUMER_NAME: 'first', CONSUMER_CONCURRENCY: '20' });
    await waitForLog(first, 'consumer started');
    const ids: string[] = [];
    const submitting = (async () => {
      for (let i = 0; i < 120; i += 1) ids.push((await submit(c.base, `load ${i}`)).id ?? '');
    })();
    await waitFor(async () => Number(await c.redis.hlen(`${c.prefix}:job:${ids[30] ?? ''}`)) > 0, {
      what: 'load under way',
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    c.start('consumer', { CONSUMER_NAME: 'second' });
    await submitting;
    expect(ids.every((id) => id.length === 36)).toBe(true);
    await waitFor(async () => (await statuses(c, ids)).every((status) => status === 'succeeded'), {
      timeoutMs: 30_000,
      what: 'all 120 succeeded',
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
    for (let i = 0; i < 400 && !(restarted && refused.length > 0 && accepted.length >= 200); i += 1) {
      const answer = await submit(c.base, `restart ${i}`);
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
    });
    // Neither process died.
    expect(processes.every((app) => app.child.exitCode === null)).toBe(true);
  });
});
