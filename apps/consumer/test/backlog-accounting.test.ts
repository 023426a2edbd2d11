import { randomUUID } from 'node:crypto';
import {
  createDeadLetters,
  decodeJobRecord,
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  FINISH_JOBS_LUA,
  mockResult,
  type EnqueueJobCall,
  type Model,
  type RedisKeys,
} from '@foretell/shared';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';

// What Redis holds for the backlog is counted exactly by the scripts that
// add and remove stream entries (MAX_QUEUE_BYTES), per owner (MAX_JOBS_PER_KEY),
// and the dead letters are capped; no script writes before its checks pass.

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

type Call = Omit<EnqueueJobCall, 'id' | 'ttlSeconds' | 'maxQueueLength' | 'maxQueueBytes'> &
  Partial<Pick<EnqueueJobCall, 'ttlSeconds' | 'maxQueueLength' | 'maxQueueBytes'>>;

/** Runs enqueue-job as the API does; resolves with its [outcome, id] and the id it tried. */
async function enqueue(redis: Redis, keys: RedisKeys, call: Call): Promise<{ reply: [string, string]; id: string }> {
  const id = randomUUID();
  const full = { ttlSeconds: 3600, maxQueueLength: 0, maxQueueBytes: 0, ...call, id };
  const reply = (await redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(keys, full))) as [string, string];
  return { reply, id };
}

async function backlogBytes(h: Harness): Promise<string | null> {
  return h.redis.get(h.keys.backlogBytes);
}

async function finalStatuses(h: Harness, ids: readonly string[]): Promise<boolean> {
  const statuses = await Promise.all(ids.map((id) => h.redis.hget(h.keys.job(id), 'status')));
  return statuses.every((status) => status === 'succeeded' || status === 'failed');
}

/** 'flaky…' fails its first call, 'hopeless…' every call, anything else answers. */
function scriptedModel(): Model {
  const seen = new Set<string>();
  return {
    async predict(input) {
      if (input.startsWith('hopeless')) throw new Error(`no answer for ${input}`);
      if (input.startsWith('flaky') && !seen.has(input)) {
        seen.add(input);
        throw new Error(`${input}: first call fails`);
      }
      return mockResult(input);
    },
  };
}

describe('the backlog byte count', () => {
  it('is the UTF-8 bytes of the inputs in the stream, and back to zero after retries, failures, replays, duplicates, expired jobs, poison and a reclaim', async () => {
    const h = harnesses.create({
      model: scriptedModel(),
      settings: { claimIdleMs: 300, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const inputs = ['orphan', 'fine é', 'fine 日本語', 'flaky 1', 'flaky 2', 'hopeless 1', 'duplicate', 'expired'];
    const ids = new Map<string, string>();
    for (const input of inputs) ids.set(input, await h.enqueue(input));
    const bytes = inputs.reduce((sum, input) => sum + Buffer.byteLength(input, 'utf8'), 0);
    expect(await backlogBytes(h)).toBe(String(bytes));

    // A redelivery of a job already done, one whose hash expired, one a crashed consumer held (the
    // first entry), and poison.
    await h.redis.hset(h.keys.job(ids.get('duplicate') ?? ''), 'status', 'succeeded', 'result', 'kept');
    await h.redis.del(h.keys.job(ids.get('expired') ?? ''));
    await h.redis.xreadgroup('GROUP', h.keys.group, 'crashed', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.redis.xadd(h.keys.jobs, '*', 'id', 'not-a-job');

    await h.consumer.start();
    const live = [...ids].filter(([input]) => input !== 'expired').map(([, id]) => id);
    const drained = async () =>
      (await finalStatuses(h, live)) &&
      (await h.redis.xlen(h.keys.jobs)) === 0 &&
      (await h.redis.zcard(h.keys.retries)) === 0;
    await waitFor(drained, { timeoutMs: 15_000, what: 'every job finished' });
    expect(h.consumer.stats).toMatchObject({
      retried: 3,
      failed: 1,
      duplicates: 1,
      expired: 1,
      poison: 1,
      reclaimed: 1,
    });
    expect(await backlogBytes(h)).toBeNull();

    // The failed job replayed (and failing again) is counted in and out again.
    const { replayed } = await createDeadLetters(h.redis, h.keys, 3600).replayAll();
    expect(replayed.map(({ jobId }) => jobId)).toEqual([ids.get('hopeless 1')]);
    expect(await backlogBytes(h)).toBe(String(Buffer.byteLength('hopeless 1')));
    await waitFor(drained, { timeoutMs: 15_000, what: 'the replayed job finished' });
    expect(await h.redis.hget(h.keys.job(ids.get('hopeless 1') ?? ''), 'status')).toBe('failed');
    expect(await backlogBytes(h)).toBeNull();
  });

  it('caps admissions at MAX_QUEUE_BYTES, counting bytes not characters, and writes nothing when full', async () => {
    const h = harnesses.create();
    const cap = { maxQueueBytes: 10 };
    expect((await enqueue(h.redis, h.keys, { input: 'ééé', ...cap })).reply[0]).toBe('queued');
    expect((await enqueue(h.redis, h.keys, { input: 'abcd', ...cap })).reply[0]).toBe('queued');
    const refused = await enqueue(h.redis, h.keys, { input: 'é', ...cap });
    expect(refused.reply).toEqual(['full', '']);
    expect(await h.redis.exists(h.keys.job(refused.id))).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(2);
    expect(await backlogBytes(h)).toBe('10');
    // Exactly at the cap is still admitted.
    expect((await enqueue(h.redis, h.keys, { input: 'x', maxQueueBytes: 11 })).reply[0]).toBe('queued');
  });
});

describe("an owner's jobs", () => {
  const owner = (id: string, maxJobs: number) => ({ owner: { id, maxJobs } });

  it('are capped per owner, stored with the owner, keep their own idempotency keys, and leave the count when they end', async () => {
    const h = harnesses.create({
      model: scriptedModel(),
      settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    const first = await enqueue(h.redis, h.keys, {
      input: 'fine',
      ...owner('key-a', 2),
      idempotency: { key: 'order-1', fingerprint: 'f1' },
    });
    const second = await enqueue(h.redis, h.keys, { input: 'hopeless', ...owner('key-a', 2) });
    expect([first.reply[0], second.reply[0]]).toEqual(['queued', 'queued']);
    const refused = await enqueue(h.redis, h.keys, { input: 'third', ...owner('key-a', 2) });
    expect(refused.reply).toEqual(['owner-full', '']);
    expect(await h.redis.exists(h.keys.job(refused.id))).toBe(0);
    // A repeat of an admitted request is answered even at the cap; another owner, or none, is not capped by it.
    const repeat = await enqueue(h.redis, h.keys, {
      input: 'fine',
      ...owner('key-a', 2),
      idempotency: { key: 'order-1', fingerprint: 'f1' },
    });
    expect(repeat.reply).toEqual(['replayed', first.id]);
    const other = await enqueue(h.redis, h.keys, {
      input: 'fine',
      ...owner('key-b', 2),
      idempotency: { key: 'order-1', fingerprint: 'f1' },
    });
    expect(other.reply).toEqual(['queued', other.id]);
    expect((await enqueue(h.redis, h.keys, { input: 'fine' })).reply[0]).toBe('queued');

    expect(decodeJobRecord(await h.redis.hgetall(h.keys.job(first.id)))?.owner).toBe('key-a');
    const entries = await h.redis.xrange(h.keys.jobs, '-', '+');
    expect(entries[0]?.[1]).toEqual(['id', first.id, 'input', 'fine', 'owner', 'key-a']);
    expect(await h.redis.exists(h.keys.idempotency('order-1', 'key-a'), h.keys.idempotency('order-1'))).toBe(1);
    expect((await h.redis.zrange(h.keys.ownerJobs('key-a'), 0, -1)).sort()).toEqual([first.id, second.id].sort());

    await h.consumer.start();
    await waitFor(() => finalStatuses(h, [first.id, second.id, other.id]), { what: 'jobs finished' });
    expect(await h.redis.hget(h.keys.job(second.id), 'status')).toBe('failed');
    expect(await h.redis.exists(h.keys.ownerJobs('key-a'), h.keys.ownerJobs('key-b'))).toBe(0);
    const [letter] = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(letter?.[1].slice(-2)).toEqual(['owner', 'key-a']);
    expect((await enqueue(h.redis, h.keys, { input: 'room again', ...owner('key-a', 2) })).reply[0]).toBe('queued');
  });

  it('stop counting a job whose hash has expired', async () => {
    const h = harnesses.create();
    const ttl = { ttlSeconds: 1 };
    const counted: string[] = [];
    for (const input of ['one', 'two']) {
      const { reply, id } = await enqueue(h.redis, h.keys, { input, ...ttl, ...owner('key-a', 2) });
      expect(reply[0]).toBe('queued');
      counted.push(id);
    }
    expect((await enqueue(h.redis, h.keys, { input: 'three', ...ttl, ...owner('key-a', 2) })).reply[0]).toBe(
      'owner-full',
    );
    // The two jobs expire unstarted (no consumer runs): once their TTL is over they count no more.
    await waitFor(async () => (await h.redis.exists(...counted.map((id) => h.keys.job(id)))) === 0, {
      what: 'the two hashes expired',
    });
    const admitted = await enqueue(h.redis, h.keys, { input: 'three', ...ttl, ...owner('key-a', 2) });
    expect(admitted.reply[0]).toBe('queued');
    expect(await h.redis.zrange(h.keys.ownerJobs('key-a'), 0, -1)).toEqual([admitted.id]);
  });
});

describe('the dead-letter stream', () => {
  it('is trimmed to about DEAD_LETTER_MAX_LENGTH, failed jobs and poison entries alike', async () => {
    const h = harnesses.create({
      model: { predict: () => Promise.reject(new Error('always')) },
      settings: { deadLetterMaxLength: 50, retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const ids = await Promise.all(Array.from({ length: 250 }, (_, i) => h.enqueue(`doomed ${i}`)));
    for (let i = 0; i < 50; i += 1) await h.redis.xadd(h.keys.jobs, '*', 'poison', String(i));
    await waitFor(async () => (await finalStatuses(h, ids)) && h.consumer.stats.poison === 50, {
      timeoutMs: 20_000,
      what: 'every job failed, every poison entry dead-lettered',
    });
    const length = await h.redis.xlen(h.keys.dead);
    // `MAXLEN ~` drops whole blocks of entries (100 by default): between the cap and the cap plus a block.
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThanOrEqual(150);
  });
});

describe('script arguments', () => {
  it('are checked before the first write: a TTL Redis would refuse leaves nothing behind', async () => {
    const h = harnesses.create();
    const id = randomUUID();
    const call = {
      id,
      input: 'x',
      ttlSeconds: 1e16,
      maxQueueLength: 0,
      maxQueueBytes: 0,
      owner: { id: 'k', maxJobs: 1 },
    };
    await expect(h.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(h.keys, call))).rejects.toThrow(
      /TTL must be an integer/,
    );
    expect(await h.redis.keys(`${h.prefix}:*`)).toEqual([]);
  });

  it('are checked before the first write: a created time that is not whole milliseconds leaves nothing behind', async () => {
    const h = harnesses.create();
    const call = { id: randomUUID(), input: 'x', ttlSeconds: 60, maxQueueLength: 0, maxQueueBytes: 0, now: 1.5 };
    await expect(h.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(h.keys, call))).rejects.toThrow(
      /created time must be an integer/,
    );
    expect(await h.redis.keys(`${h.prefix}:*`)).toEqual([]);
  });

  it('stamp a job created on the caller clock, and read Redis TIME only for a per-owner cap', async () => {
    const h = harnesses.create();
    const id = randomUUID();
    await h.redis.eval(
      ENQUEUE_JOB_LUA,
      ...enqueueJobArgs(h.keys, { id, input: 'x', ttlSeconds: 60, maxQueueLength: 0, maxQueueBytes: 0, now: 1234 }),
    );
    expect(await h.redis.hget(h.keys.job(id), 'created')).toBe('1234');
    // With a capped owner, the owner's set is scored on Redis's clock (the consumers' clock), not the caller's.
    const owned = randomUUID();
    const [seconds = 0] = await h.redis.time();
    await h.redis.eval(
      ENQUEUE_JOB_LUA,
      ...enqueueJobArgs(h.keys, {
        id: owned,
        input: 'x',
        ttlSeconds: 60,
        maxQueueLength: 0,
        maxQueueBytes: 0,
        now: 1234,
        owner: { id: 'k', maxJobs: 5 },
      }),
    );
    const score = Number(await h.redis.zscore(h.keys.ownerJobs('k'), owned));
    expect(score).toBeGreaterThanOrEqual(Number(seconds) * 1000);
  });

  it('are checked before the first write: finish-jobs with a bad TTL releases no entry', async () => {
    const h = harnesses.create();
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('held');
    const read = (await h.redis.xreadgroup('GROUP', h.keys.group, 'c', 'STREAMS', h.keys.jobs, '>')) as
      [string, [string, string[]][]][] | null;
    const entryId = read?.[0]?.[1][0]?.[0] ?? 'none';
    // The TTL is the only bad argument.
    const finish = h.redis.eval(
      FINISH_JOBS_LUA,
      6,
      h.keys.jobs,
      h.keys.dead,
      h.keys.backlogBytes,
      h.keys.models,
      h.keys.webhooks,
      h.keys.job(id),
      h.keys.group,
      '-1',
      h.keys.done,
      '100',
      h.keys.jobPrefix,
      '1',
      '',
      '',
      entryId,
      'succeeded',
      'result',
      '4',
    );

    await expect(finish).rejects.toThrow(/TTL must be an integer/);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(1);
    expect(((await h.redis.xpending(h.keys.jobs, h.keys.group)) as [number])[0]).toBe(1);
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('queued');
    expect(await backlogBytes(h)).toBe('4');
  });
});
