import { mockResult, NonRetryableError, type Model } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { retryDelayMs } from '../src/retry-policy.js';
import { createHarness, type Harness, type HarnessOptions } from './consumer-harness.js';

const harnesses: Harness[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.dispose()));
});

function harness(options: HarnessOptions): Harness {
  const created = createHarness(options);
  harnesses.push(created);
  return created;
}

/** A model that fails its first `failures` calls for each input, then answers. */
function flakyModel(failures: number): Model & { calls: Map<string, number[]> } {
  const calls = new Map<string, number[]>();
  return {
    calls,
    async predict(input) {
      const times = calls.get(input) ?? [];
      times.push(Date.now());
      calls.set(input, times);
      if (times.length <= failures) throw new Error(`flaky failure ${times.length}`);
      return mockResult(input);
    },
  };
}

async function pendingCount(h: Harness): Promise<number> {
  const [count] = (await h.redis.xpending(h.keys.jobs, h.keys.group)) as [number];
  return count;
}

describe('retries', () => {
  it('retries a failing model with growing delays, then stores the result', async () => {
    const model = flakyModel(2);
    const h = harness({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 10_000 }, claimIdleMs: 300 },
    });
    await h.consumer.start();
    const id = await h.enqueue('flaky');

    // Between attempts the job waits, queued, on the retries set: no stream entry, no slot.
    await waitFor(async () => (await h.redis.zscore(h.keys.retries, id)) !== null, { what: 'retry scheduled' });
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('queued');
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe('flaky failure 1');
    expect(h.consumer.inFlight()).toBe(0);
    expect(await pendingCount(h)).toBe(0);

    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'success' });
    expect(await h.redis.hget(h.keys.job(id), 'result')).toBe(mockResult('flaky'));
    expect(await h.redis.hget(h.keys.job(id), 'attempts')).toBe('3');
    const [first, second, third] = model.calls.get('flaky') ?? [];
    // Equal jitter: at least half the exponential delay (100 ms, then 200 ms).
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(100);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(200);
    expect(h.consumer.stats.retried).toBe(2);
    expect(await h.redis.exists(h.keys.dead)).toBe(0);
    expect(await h.redis.zcard(h.keys.retries)).toBe(0);
  });

  it('fails the job for good after the last attempt, with the reason and attempts in the dead-letter stream', async () => {
    const model = flakyModel(Infinity);
    const h = harness({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 50 }, claimIdleMs: 300 },
    });
    await h.consumer.start();
    const id = await h.enqueue('hopeless');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failure' });
    expect(model.calls.get('hopeless')).toHaveLength(3);
    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(hash).toMatchObject({ status: 'failed', reason: 'flaky failure 3', attempts: '3' });
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([
      ['id', id, 'input', 'hopeless', 'reason', 'flaky failure 3', 'attempts', '3'],
    ]);
    expect(await pendingCount(h)).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
  });

  it('fails at once when the model says the error is not worth retrying', async () => {
    let calls = 0;
    const h = harness({
      model: {
        predict: async () => {
          calls += 1;
          throw new NonRetryableError('input is not English');
        },
      },
    });
    await h.consumer.start();
    const id = await h.enqueue('bonjour');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failure' });
    expect(calls).toBe(1);
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe('input is not English');
    expect(h.consumer.stats.retried).toBe(0);
  });

  it('computes exponential delays with equal jitter, capped', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 8000 };
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, policy, () => 0))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ]);
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
  });
});

describe('crash recovery', () => {
  it('reclaims the entries of a consumer that stopped answering, counting an attempt', async () => {
    const h = harness({ settings: { name: 'survivor', claimIdleMs: 300 } });
    // A consumer that read an entry and died: the entry is pending under its name.
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('orphan');
    await h.redis.xreadgroup('GROUP', h.keys.group, 'dead-consumer', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.redis.hset(h.keys.job(id), 'status', 'processing', 'attempts', '1');

    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', {
      what: 'reclaimed job done',
    });
    expect(await h.redis.hget(h.keys.job(id), 'attempts')).toBe('2');
    expect(h.consumer.stats.reclaimed).toBe(1);
    expect(await pendingCount(h)).toBe(0);
  });

  it('never reclaims an entry whose consumer is alive, however long its model runs', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const slow: Model = {
      predict: async (input) => {
        calls += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return mockResult(input);
      },
    };
    const a = harness({ model: slow, settings: { name: 'a', claimIdleMs: 200 } });
    await a.consumer.start();
    const id = await a.enqueue('long');
    await waitFor(() => a.consumer.inFlight() === 1, { what: 'a runs it' });
    const b = harness({ model: slow, settings: { name: 'b', claimIdleMs: 200 }, prefix: a.prefix });
    await b.consumer.start();
    // Five claim timeouts pass; all along, `a`'s heartbeats keep its entry's idle time under the timeout.
    const until = Date.now() + 1000;
    await waitFor(
      async () => {
        const [[, , idleMs]] = (await a.redis.xpending(a.keys.jobs, a.keys.group, '-', '+', 1)) as [
          [string, string, number],
        ];
        expect(idleMs).toBeLessThan(200);
        return Date.now() > until;
      },
      { timeoutMs: 3000, what: 'five claim timeouts' },
    );
    expect(calls).toBe(1);
    expect(b.consumer.stats.reclaimed).toBe(0);
    release();
    await waitFor(async () => (await a.redis.hget(a.keys.job(id), 'status')) === 'succeeded', { what: 'done' });
  });

  it('keeps to its concurrency while a blocked read and reclaims compete for slots', async () => {
    let running = 0;
    let peak = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model: Model = {
      predict: async (input) => {
        running += 1;
        peak = Math.max(peak, running);
        await gate;
        running -= 1;
        return mockResult(input);
      },
    };
    const h = harness({ model, settings: { concurrency: 3, claimIdleMs: 100, blockMs: 60_000 } });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.enqueue(`orphan ${i}`)));
    await h.redis.xreadgroup('GROUP', h.keys.group, 'dead', 'COUNT', 3, 'STREAMS', h.keys.jobs, '>');
    await h.consumer.start();
    // The consumer now blocks on XREADGROUP COUNT 3 while the orphans go stale: several upkeep
    // rounds pass in which a reclaim must not take the three slots the read has promised.
    const until = Date.now() + 600;
    await waitFor(() => Date.now() > until, { what: 'several claim rounds' });
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.enqueue(`fresh ${i}`)));
    await waitFor(() => running === 3, { what: 'three running' });
    expect(h.consumer.inFlight()).toBe(3);
    release();
    await waitFor(() => h.consumer.stats.succeeded === 6, { timeoutMs: 10_000, what: 'all six done' });
    expect(peak).toBe(3);
  });

  it('fails a job whose consumers keep dying once its attempts are spent', async () => {
    const h = harness({ settings: { claimIdleMs: 200, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } } });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('killer');
    await h.redis.xreadgroup('GROUP', h.keys.group, 'crashed', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.redis.hset(h.keys.job(id), 'status', 'processing', 'attempts', '2');
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failed' });
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe('gave up after 2 attempts: its consumers stopped');
  });

  it('takes back its own pending entries when it starts again under the same name', async () => {
    const h = harness({ settings: { name: 'same-name' } });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('mine');
    await h.redis.xreadgroup('GROUP', h.keys.group, 'same-name', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'done' });
    expect(await pendingCount(h)).toBe(0);
  });

  it('stores one result when two consumers race on one job', async () => {
    // Each consumer answers with its own name, so the stored result tells who wrote it.
    const releases = new Map<string, () => void>();
    const gatedAs = (name: string): Model => ({
      predict: async () => {
        await new Promise<void>((resolve) => releases.set(name, resolve));
        return `${name}-result`;
      },
    });
    const a = harness({ model: gatedAs('a'), settings: { name: 'a' } });
    const subscriber = a.redis.duplicate();
    let published = 0;
    await subscriber.subscribe(a.keys.done);
    subscriber.on('message', () => (published += 1));
    await a.consumer.start();
    const id = await a.enqueue('contested');
    await waitFor(() => releases.has('a'), { what: 'a runs it' });

    // A redelivery while `a` still runs it: the entry is handed to `b`, which
    // picks it up from its own pending list when it starts.
    const [[entryId]] = (await a.redis.xpending(a.keys.jobs, a.keys.group, '-', '+', 1)) as [[string]];
    await a.redis.xclaim(a.keys.jobs, a.keys.group, 'b', 0, entryId);
    const b = harness({ model: gatedAs('b'), settings: { name: 'b' }, prefix: a.prefix });
    await b.consumer.start();
    await waitFor(() => releases.has('b'), { what: 'b runs it too' });

    releases.get('a')?.();
    await waitFor(() => a.consumer.stats.succeeded === 1, { what: 'a stored its result' });
    releases.get('b')?.();
    await waitFor(() => b.consumer.stats.duplicates === 1, { what: 'b found it stored' });
    await subscriber.quit();
    expect(await a.redis.hget(a.keys.job(id), 'result')).toBe('a-result');
    expect(b.consumer.stats.succeeded).toBe(0);
    expect(published).toBe(1);
    expect(await pendingCount(a)).toBe(0);
  });
});

describe('group upkeep', () => {
  it('removes consumers idle for long with nothing pending, and keeps the others', async () => {
    const h = harness({ settings: { name: 'sweeper', removeIdleConsumersAfterMs: 1000 } });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    await h.redis.xgroup('CREATECONSUMER', h.keys.jobs, h.keys.group, 'gone');
    await h.enqueue('held');
    await h.redis.xreadgroup('GROUP', h.keys.group, 'holding', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    // "holding" owns a pending entry (not reclaimed: the claim timeout is long): it must survive the sweep.
    const names = async () =>
      ((await h.redis.xinfo('CONSUMERS', h.keys.jobs, h.keys.group)) as unknown[][]).map((c) => String(c[1]));
    expect((await names()).sort()).toEqual(['gone', 'holding']);
    await h.consumer.start();
    await waitFor(async () => !(await names()).includes('gone'), { timeoutMs: 15_000, what: 'gone removed' });
    expect(await names()).toContain('holding');
  });
});

describe('Redis losing the group', () => {
  it('recreates the group on NOGROUP (Redis restarted empty) and goes on', async () => {
    const h = harness({ settings: { blockMs: 100 } });
    await h.consumer.start();
    const before = await h.enqueue('before');
    await waitFor(async () => (await h.redis.hget(h.keys.job(before), 'status')) === 'succeeded', { what: 'before' });
    await h.redis.del(h.keys.jobs);
    const after = await h.enqueue('after');
    await waitFor(async () => (await h.redis.hget(h.keys.job(after), 'status')) === 'succeeded', {
      what: 'a job queued after the group was lost',
    });
    const groups = (await h.redis.xinfo('GROUPS', h.keys.jobs)) as unknown[][];
    expect(groups.map((group) => group[1])).toEqual([h.keys.group]);
  });
});
