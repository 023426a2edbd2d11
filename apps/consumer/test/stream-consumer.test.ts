import { MOCK_MODEL, mockResult, MODEL_FAILURE_REASON, modelRef } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';
import { heldModel } from '../../../test/support/held-model.js';

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

async function pendingCount(h: Harness): Promise<number> {
  const summary = (await h.redis.xpending(h.keys.jobs, h.keys.group)) as [number, ...unknown[]];
  return summary[0];
}

async function statusOf(h: Harness, id: string): Promise<string | null> {
  return h.redis.hget(h.keys.job(id), 'status');
}

describe('the stream consumer', () => {
  it('creates the group from id 0, so jobs queued before it started are run', async () => {
    const h = harnesses.create();
    const early = await h.enqueue('queued before any consumer');
    await h.consumer.start();
    await waitFor(async () => (await statusOf(h, early)) === 'succeeded', { what: 'early job' });
  });

  it('starts alongside an existing group (BUSYGROUP is fine)', async () => {
    const h = harnesses.create();
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    await h.consumer.start();
    const id = await h.enqueue('x');
    await waitFor(async () => (await statusOf(h, id)) === 'succeeded', { what: 'job' });
  });

  it('stores the result (the sync result for that input), renews the TTL, acks and deletes the entry, publishes the id', async () => {
    const h = harnesses.create({ settings: { resultTtlSeconds: 1234 } });
    const done = await h.subscribe(h.keys.done);
    await h.consumer.start();

    const before = Date.now();
    const id = await h.enqueue('Sample input data for the model', 60);
    await waitFor(() => done.messages.includes(id), { what: 'done notification' });

    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(hash.status).toBe('succeeded');
    expect(hash.input).toBe('Sample input data for the model');
    expect(hash.result).toBe(mockResult('Sample input data for the model'));
    expect(hash.attempts).toBe('1');
    expect(Number(hash.finished)).toBeGreaterThanOrEqual(before);
    // Kept small: a finished job drops its creation and start times, and names its model by a short ref.
    expect(Object.keys(hash).sort()).toEqual(['attempts', 'finished', 'input', 'model', 'result', 'status']);
    expect(hash.model).toBe(modelRef(MOCK_MODEL));
    expect(await h.redis.hgetall(h.keys.models)).toEqual({ [modelRef(MOCK_MODEL)]: 'mock 1.0.0' });
    const ttl = await h.redis.ttl(h.keys.job(id));
    expect(ttl).toBeGreaterThan(1200);
    expect(ttl).toBeLessThanOrEqual(1234);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
    expect(h.consumer.stats.succeeded).toBe(1);
    await done.settled();
    expect(done.messages).toEqual([id]);
  });

  it('runs up to CONSUMER_CONCURRENCY jobs at once, and no more', async () => {
    const model = heldModel();
    const h = harnesses.create({ model, settings: { concurrency: 5 } });
    await h.consumer.start();
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => h.enqueue(`job ${i}`)));

    await waitFor(() => model.held() === 5, { what: 'five jobs running' });
    expect(h.consumer.inFlight()).toBe(5);
    // The rest stay in the stream, not read: another consumer may take them.
    expect(await pendingCount(h)).toBe(5);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(12);
    while (h.consumer.stats.succeeded < 12) {
      model.releaseOne();
      await waitFor(() => model.held() > 0 || h.consumer.stats.succeeded === 12, { what: 'next job' });
    }
    expect(model.peak()).toBe(5);
    expect(model.calls).toHaveLength(12);
    for (const id of ids) expect(await statusOf(h, id)).toBe('succeeded');
    expect(await pendingCount(h)).toBe(0);
  });

  it('holds hundreds of waiting jobs in flight at once', async () => {
    const model = heldModel();
    const h = harnesses.create({ model, settings: { concurrency: 400 } });
    await h.consumer.start();
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) => h.enqueue(`bulk ${i}`)));
    await waitFor(() => model.held() === 300, { what: '300 model calls waiting' });
    expect(h.consumer.inFlight()).toBe(300);
    expect(await pendingCount(h)).toBe(300);
    model.releaseAll();
    await waitFor(() => h.consumer.stats.succeeded === 300, { what: 'all 300 done' });
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
    const statuses = await Promise.all(ids.map((id) => statusOf(h, id)));
    expect(statuses.filter((status) => status === 'succeeded')).toHaveLength(300);
  });

  it('dead-letters an entry that does not parse, acks it, and goes on', async () => {
    const h = harnesses.create();
    await h.consumer.start();
    const poisonId = await h.redis.xadd(h.keys.jobs, '*', 'id', 'not-a-uuid', 'input', 'x');
    const good = await h.enqueue('after the poison');
    await waitFor(async () => (await statusOf(h, good)) === 'succeeded', { what: 'good job' });
    await waitFor(() => h.consumer.stats.poison === 1, { what: 'poison counted' });

    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead).toHaveLength(1);
    const fields = dead[0]?.[1] ?? [];
    expect(fields.slice(0, 4)).toEqual([
      'entry',
      poisonId,
      'reason',
      'invalid job message: /id must match format "uuid"',
    ]);
    expect(JSON.parse(fields[5] ?? '')).toEqual(['id', 'not-a-uuid', 'input', 'x']);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
  });

  it('marks a job failed, with the reason, and dead-letters it when the model throws for good', async () => {
    const h = harnesses.create({
      model: { predict: () => Promise.reject(new Error('model exploded')) },
      settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('doomed');
    await waitFor(async () => (await statusOf(h, id)) === 'failed', { what: 'failed job' });
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe(MODEL_FAILURE_REASON);
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([
      ['id', id, 'input', 'doomed', 'reason', 'model exploded', 'attempts', '1'],
    ]);
    expect(await pendingCount(h)).toBe(0);
    expect(h.consumer.stats.failed).toBe(1);
  });

  it('drops (and counts) an entry whose job hash expired before it ran', async () => {
    const h = harnesses.create();
    const id = await h.enqueue('stale');
    await h.redis.del(h.keys.job(id));
    await h.consumer.start();
    await waitFor(() => h.consumer.stats.expired === 1, { what: 'expired counted' });
    expect(await h.redis.exists(h.keys.job(id))).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
  });

  it('acks a redelivered job whose result is stored without running it or touching the result', async () => {
    let calls = 0;
    const h = harnesses.create({
      model: {
        predict: async (input) => {
          calls += 1;
          return mockResult(input);
        },
      },
    });
    const id = await h.enqueue('once');
    await h.redis.hset(h.keys.job(id), 'status', 'succeeded', 'result', 'kept', 'finished', '1');
    await h.consumer.start();
    await waitFor(() => h.consumer.stats.duplicates === 1, { what: 'duplicate counted' });
    expect(calls).toBe(0);
    expect(await h.redis.hget(h.keys.job(id), 'result')).toBe('kept');
    expect(await pendingCount(h)).toBe(0);
  });
});

describe('closing', () => {
  it('stops reading at once, and finishes the jobs in hand before resolving', async () => {
    const model = heldModel();
    // A grace period no machine reaches: the jobs end when the test lets the model answer.
    const h = harnesses.create({ model, settings: { shutdownGraceMs: 600_000 } });
    await h.consumer.start();
    const ids = await Promise.all(['a', 'b', 'c'].map((input) => h.enqueue(input)));
    await waitFor(() => model.held() === 3, { what: 'three in flight' });

    let closed = false;
    const closing = h.consumer.close().then(() => {
      closed = true;
    });
    // The drain begins once the read loop has ended: nothing is read from here on.
    await waitFor(() => h.logs.some((line) => line.msg === 'draining jobs in hand'), { what: 'drain begun' });
    const later = await h.enqueue('after close');
    expect(closed).toBe(false);
    model.releaseAll();
    await closing;
    for (const id of ids) expect(await statusOf(h, id)).toBe('succeeded');

    // Closed means closed: the job queued meanwhile stays queued, and closing again is harmless.
    await h.consumer.close();
    expect(model.calls).toEqual(['a', 'b', 'c']);
    expect(await statusOf(h, later)).toBe('queued');
    expect(await h.redis.xlen(h.keys.jobs)).toBe(1);
    expect(await pendingCount(h)).toBe(0);
  });

  it('closes promptly while blocked on an empty stream', async () => {
    // Reads block for ten minutes (the block is capped by the claim timeout, so both are long).
    const h = harnesses.create({ settings: { blockMs: 600_000, claimIdleMs: 600_000 } });
    await h.consumer.start();
    const blocked = await waitFor(
      async () => {
        const reader = await h.client(h.readerName);
        return reader?.cmd === 'xreadgroup' && reader.flags?.includes('b') ? reader : undefined;
      },
      { what: 'reader blocked in XREADGROUP' },
    );
    expect(blocked.name).toBe(h.readerName);
    let closed = false;
    const closing = h.consumer.close().then(() => {
      closed = true;
    });
    // Well before the ten minutes: the blocked read is woken by CLIENT UNBLOCK.
    await waitFor(() => closed, { timeoutMs: 20_000, what: 'close' });
    await closing;
    await waitFor(async () => (await h.client(h.readerName)) === undefined, { what: 'reader connection closed' });
  });

  it('leaves jobs it could not finish within the grace period pending, for another consumer', async () => {
    // The model never answers by itself: only the end of the grace period ends its call (aborted).
    const model = heldModel();
    const h = harnesses.create({ model, settings: { shutdownGraceMs: 100 } });
    await h.consumer.start();
    const id = await h.enqueue('too slow');
    await waitFor(() => model.held() === 1, { what: 'in flight' });
    await h.consumer.close();
    expect(model.aborted()).toBe(1);
    expect(await statusOf(h, id)).toBe('processing');
    expect(await pendingCount(h)).toBe(1);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(1);
    expect(
      h.logs.some((line) => line.msg === 'shutdown grace period over; job left pending for another consumer'),
    ).toBe(true);
  });
});
