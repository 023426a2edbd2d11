import { createMockModel, mockResult, type Model } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { createHarness, type Harness } from './consumer-harness.js';

let h: Harness;

afterEach(async () => {
  await h.dispose();
});

async function pendingCount(): Promise<number> {
  const summary = (await h.redis.xpending(h.keys.jobs, h.keys.group)) as [number, ...unknown[]];
  return summary[0];
}

async function statusOf(id: string): Promise<string | null> {
  return h.redis.hget(h.keys.job(id), 'status');
}

describe('the stream consumer', () => {
  it('creates the group from id 0, so jobs queued before it started are run', async () => {
    h = createHarness();
    const early = await h.enqueue('queued before any consumer');
    await h.consumer.start();
    await waitFor(async () => (await statusOf(early)) === 'succeeded', { what: 'early job' });
  });

  it('starts alongside an existing group (BUSYGROUP is fine)', async () => {
    h = createHarness();
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    await h.consumer.start();
    const id = await h.enqueue('x');
    await waitFor(async () => (await statusOf(id)) === 'succeeded', { what: 'job' });
  });

  it('stores the result (the sync result for that input), renews the TTL, acks and deletes the entry, publishes the id', async () => {
    h = createHarness({ settings: { resultTtlSeconds: 1234 } });
    const subscriber = h.redis.duplicate();
    const published: string[] = [];
    await subscriber.subscribe(h.keys.done);
    subscriber.on('message', (_channel: string, id: string) => published.push(id));
    await h.consumer.start();

    const before = Date.now();
    const id = await h.enqueue('Sample input data for the model', 60);
    await waitFor(() => published.includes(id), { what: 'done notification' });
    await subscriber.quit();

    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(hash.status).toBe('succeeded');
    expect(hash.input).toBe('Sample input data for the model');
    expect(hash.result).toBe(mockResult('Sample input data for the model'));
    expect(hash.attempts).toBe('1');
    expect(Number(hash.finished)).toBeGreaterThanOrEqual(before);
    // Kept small: a finished job drops its creation and start times.
    expect(Object.keys(hash).sort()).toEqual(['attempts', 'finished', 'input', 'result', 'status']);
    const ttl = await h.redis.ttl(h.keys.job(id));
    expect(ttl).toBeGreaterThan(1200);
    expect(ttl).toBeLessThanOrEqual(1234);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount()).toBe(0);
    expect(h.consumer.stats.succeeded).toBe(1);
  });

  it('runs up to CONSUMER_CONCURRENCY jobs at once, and no more', async () => {
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const model: Model = {
      predict: async (input) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running -= 1;
        return mockResult(input);
      },
    };
    h = createHarness({ model, settings: { concurrency: 5 } });
    await h.consumer.start();
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => h.enqueue(`job ${i}`)));

    await waitFor(() => running === 5, { what: 'five jobs running' });
    expect(h.consumer.inFlight()).toBe(5);
    // The rest stay in the stream, not read: another consumer may take them.
    expect(await pendingCount()).toBe(5);
    while (release.length > 0 || h.consumer.stats.succeeded < 12) {
      release.shift()?.();
      await waitFor(() => release.length > 0 || h.consumer.stats.succeeded === 12, { what: 'next job' });
    }
    expect(peak).toBe(5);
    for (const id of ids) expect(await statusOf(id)).toBe('succeeded');
    expect(await pendingCount()).toBe(0);
  });

  it('holds hundreds of waiting jobs in flight at once', async () => {
    h = createHarness({
      model: createMockModel({ minLatencyMs: 300, maxLatencyMs: 300 }),
      settings: { concurrency: 400 },
    });
    await h.consumer.start();
    await Promise.all(Array.from({ length: 300 }, (_, i) => h.enqueue(`bulk ${i}`)));
    await waitFor(() => h.consumer.inFlight() === 300, { what: '300 jobs in flight' });
    await waitFor(() => h.consumer.stats.succeeded === 300, { what: 'all 300 done' });
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
  });

  it('dead-letters an entry that does not parse, acks it, and goes on', async () => {
    h = createHarness();
    await h.consumer.start();
    const poisonId = await h.redis.xadd(h.keys.jobs, '*', 'id', 'not-a-uuid', 'input', 'x');
    const good = await h.enqueue('after the poison');
    await waitFor(async () => (await statusOf(good)) === 'succeeded', { what: 'good job' });
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
    expect(await pendingCount()).toBe(0);
  });

  it('marks a job failed, with the reason, and dead-letters it when the model throws for good', async () => {
    h = createHarness({
      model: { predict: () => Promise.reject(new Error('model exploded')) },
      settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('doomed');
    await waitFor(async () => (await statusOf(id)) === 'failed', { what: 'failed job' });
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe('model exploded');
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead[0]?.[1]).toEqual(['id', id, 'input', 'doomed', 'reason', 'model exploded', 'attempts', '1']);
    expect(await pendingCount()).toBe(0);
    expect(h.consumer.stats.failed).toBe(1);
  });

  it('drops (and counts) an entry whose job hash expired before it ran', async () => {
    h = createHarness();
    const id = await h.enqueue('stale');
    await h.redis.del(h.keys.job(id));
    await h.consumer.start();
    await waitFor(() => h.consumer.stats.expired === 1, { what: 'expired counted' });
    expect(await h.redis.exists(h.keys.job(id))).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount()).toBe(0);
  });

  it('acks a redelivered job whose result is stored without running it or touching the result', async () => {
    let calls = 0;
    h = createHarness({
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
    expect(await pendingCount()).toBe(0);
  });
});

describe('closing', () => {
  it('stops reading at once, and finishes the jobs in hand before resolving', async () => {
    h = createHarness({ model: createMockModel({ minLatencyMs: 400, maxLatencyMs: 400 }) });
    await h.consumer.start();
    const ids = await Promise.all(['a', 'b', 'c'].map((input) => h.enqueue(input)));
    await waitFor(() => h.consumer.inFlight() === 3, { what: 'three in flight' });

    await h.consumer.close();
    for (const id of ids) expect(await statusOf(id)).toBe('succeeded');
    expect(await pendingCount()).toBe(0);

    // Closed means closed: a job queued now stays queued, and closing again is harmless.
    const later = await h.enqueue('after close');
    await h.consumer.close();
    expect(await statusOf(later)).toBe('queued');
    expect(await h.redis.xlen(h.keys.jobs)).toBe(1);
  });

  it('closes promptly while blocked on an empty stream', async () => {
    h = createHarness({ settings: { blockMs: 60_000 } });
    await h.consumer.start();
    await waitFor(async () => String(await h.redis.call('CLIENT', 'LIST')).includes('cmd=xreadgroup'), {
      what: 'reader blocked',
    });
    const closed = h.consumer.close().then(() => true);
    // Not 60 s: the blocked read is woken by CLIENT UNBLOCK.
    expect(
      await waitFor(() => Promise.race([closed, Promise.resolve(false)]), { timeoutMs: 5000, what: 'close' }),
    ).toBe(true);
  });

  it('leaves jobs it could not finish within the grace period pending, for another consumer', async () => {
    h = createHarness({
      model: createMockModel({ minLatencyMs: 30_000, maxLatencyMs: 30_000 }),
      settings: { shutdownGraceMs: 100 },
    });
    await h.consumer.start();
    const id = await h.enqueue('too slow');
    await waitFor(() => h.consumer.inFlight() === 1, { what: 'in flight' });
    await h.consumer.close();
    expect(await statusOf(id)).toBe('processing');
    expect(await pendingCount()).toBe(1);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(1);
  });
});
