import { mockResult, MODEL_FAILURE_REASON, modelRef, NonRetryableError, type Model } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { retryDelayMs } from '../src/retry-policy.js';
import { harnessPool, uniqueName, type Harness } from './consumer-harness.js';
import { heldModel } from '../../../test/support/held-model.js';

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

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

type PendingEntry = [entryId: string, consumer: string, idleMs: number, deliveries: number];

async function pendingEntries(h: Harness): Promise<PendingEntry[]> {
  return (await h.redis.xpending(h.keys.jobs, h.keys.group, '-', '+', 100)) as PendingEntry[];
}

/** A heartbeat as the upkeep loop sends it: XCLAIM <stream> <group> <consumer> 0 <ids…> JUSTID. */
function isHeartbeat(consumer: string, entryId?: string) {
  return ([name, , , by, , ...rest]: readonly string[]) =>
    name === 'xclaim' && by === consumer && rest.at(-1) === 'JUSTID' && (!entryId || rest.includes(entryId));
}

describe('retries', () => {
  it('between attempts, keeps the job queued on the retries set, with no stream entry and no consumer slot', async () => {
    const model = flakyModel(1);
    // The first retry is due 5 to 10 minutes later: the waiting state lasts longer than any test.
    const baseDelayMs = 600_000;
    const h = harnesses.create({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs, maxDelayMs: baseDelayMs } },
    });
    await h.consumer.start();
    const id = await h.enqueue('flaky');

    const due = Number(await waitFor(() => h.redis.zscore(h.keys.retries, id), { what: 'retry scheduled' }));
    await waitFor(() => h.consumer.inFlight() === 0, { what: 'slot released' });
    const seen = Date.now();
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({
      status: 'queued',
      input: 'flaky',
      attempts: '1',
      reason: 'flaky failure 1',
    });
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
    expect(h.consumer.stats.retried).toBe(1);
    // Equal jitter: the first retry waits half to all of the base delay after the failed call.
    const [failedAt = 0, ...later] = model.calls.get('flaky') ?? [];
    expect(later).toEqual([]);
    expect(due).toBeGreaterThanOrEqual(failedAt + baseDelayMs / 2);
    expect(due).toBeLessThanOrEqual(seen + baseDelayMs);
  });

  it('retries a failing model with growing delays, then stores the result', async () => {
    const model = flakyModel(2);
    const h = harnesses.create({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 10_000 }, claimIdleMs: 300 },
    });
    await h.consumer.start();
    const id = await h.enqueue('flaky');

    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'success' });
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({
      status: 'succeeded',
      result: mockResult('flaky'),
      attempts: '3',
    });
    const [first = 0, second = 0, third = 0, ...more] = model.calls.get('flaky') ?? [];
    expect(more).toEqual([]);
    // Equal jitter: at least half the exponential delay (100 ms, then 200 ms). A slower machine only waits longer.
    expect(second - first).toBeGreaterThanOrEqual(100);
    expect(third - second).toBeGreaterThanOrEqual(200);
    expect(h.consumer.stats.retried).toBe(2);
    expect(await h.redis.exists(h.keys.dead)).toBe(0);
    expect(await h.redis.zcard(h.keys.retries)).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await pendingCount(h)).toBe(0);
  });

  it('fails the job for good after the last attempt, with the reason and attempts in the dead-letter stream', async () => {
    const model = flakyModel(Infinity);
    const h = harnesses.create({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 50 }, claimIdleMs: 300 },
    });
    await h.consumer.start();
    const id = await h.enqueue('hopeless');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failure' });
    expect(model.calls.get('hopeless')).toHaveLength(3);
    const hash = await h.redis.hgetall(h.keys.job(id));
    // The client reads a generic reason; the model's own message is kept in the dead letter.
    expect(hash).toMatchObject({ status: 'failed', reason: MODEL_FAILURE_REASON, attempts: '3' });
    // A model without a name (built in a test; every loaded model has one) is not recorded.
    expect(hash.model).toBeUndefined();
    expect(await h.redis.exists(h.keys.models)).toBe(0);
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([
      ['id', id, 'input', 'hopeless', 'reason', 'flaky failure 3', 'attempts', '3'],
    ]);
    expect(await pendingCount(h)).toBe(0);
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
    expect(await h.redis.zcard(h.keys.retries)).toBe(0);
  });

  it('fails at once when the model says the error is not worth retrying', async () => {
    let calls = 0;
    const h = harnesses.create({
      model: {
        name: 'picky',
        version: '2.0',
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
    // The failed job and its dead letter name the model that failed it.
    const ref = modelRef({ name: 'picky', version: '2.0' });
    expect(await h.redis.hget(h.keys.job(id), 'model')).toBe(ref);
    const [[, letter]] = (await h.redis.xrange(h.keys.dead, '-', '+')) as [[string, string[]]];
    expect(letter.slice(-2)).toEqual(['model', ref]);
    expect(await h.redis.hget(h.keys.models, ref)).toBe('picky 2.0');
    expect(h.consumer.stats.retried).toBe(0);
    expect(await h.redis.zcard(h.keys.retries)).toBe(0);
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
    const h = harnesses.create({ settings: { claimIdleMs: 300 } });
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
    expect(await h.redis.xlen(h.keys.jobs)).toBe(0);
  });

  it('never reclaims an entry whose consumer is alive, however long its model runs', async () => {
    // Heartbeats come every claim timeout / 3 (500 ms): `a` would have to fall a whole second behind to lose its entry.
    const claimIdleMs = 1500;
    const model = heldModel();
    const a = harnesses.create({ model, settings: { name: uniqueName('a'), claimIdleMs } });
    const commands = await a.logCommands(a.keys.jobs);
    await a.consumer.start();
    const id = await a.enqueue('long');
    await waitFor(() => model.held() === 1, { what: 'a runs it' });
    const entryId = (await pendingEntries(a))[0]?.[0] ?? 'none pending';
    const b = harnesses.create({ model, settings: { name: uniqueName('b'), claimIdleMs }, prefix: a.prefix });
    await b.consumer.start();

    // Rounds are counted, not timed. Heartbeats are at least 500 ms apart, so from `a`'s fifth
    // heartbeat of the entry on, more than a claim timeout has passed since `a` took it: any
    // XAUTOCLAIM of `b` from then on would take the entry, had the heartbeats not kept it fresh.
    const heartbeatOfA = isHeartbeat(a.name, entryId);
    const rounds = () => {
      let heartbeats = 0;
      let lateClaims = 0;
      for (const command of commands.commands) {
        if (heartbeatOfA(command)) heartbeats += 1;
        else if (command[0] === 'xautoclaim' && command[3] === b.name && heartbeats >= 5) lateClaims += 1;
      }
      return { heartbeats, lateClaims };
    };
    let maxIdleMs = 0;
    await waitFor(
      async () => {
        maxIdleMs = Math.max(maxIdleMs, (await pendingEntries(a))[0]?.[2] ?? Infinity);
        const { heartbeats, lateClaims } = rounds();
        // A second call ends the wait too: the assertions below then say what went wrong.
        return (heartbeats >= 8 && lateClaims >= 3) || model.calls.length > 1;
      },
      { timeoutMs: 20_000, what: 'eight heartbeats of a, and three claim rounds of b past a claim timeout' },
    );
    expect(maxIdleMs).toBeLessThan(claimIdleMs);
    // Still a's, delivered once (a heartbeat does not count as a delivery; a reclaim would), run once.
    expect(await pendingEntries(a)).toEqual([[entryId, a.name, expect.any(Number), 1]]);
    expect(model.calls).toEqual(['long']);
    expect(b.consumer.stats.reclaimed).toBe(0);

    model.releaseAll();
    await waitFor(async () => (await a.redis.hget(a.keys.job(id), 'status')) === 'succeeded', { what: 'done' });
    expect(a.consumer.stats.succeeded).toBe(1);
    expect(await a.redis.hget(a.keys.job(id), 'attempts')).toBe('1');
  });

  it('keeps to its concurrency while a blocked read and reclaims compete for slots', async () => {
    const model = heldModel();
    const h = harnesses.create({ model, settings: { concurrency: 3, claimIdleMs: 300, blockMs: 60_000 } });
    const commands = await h.logCommands(h.keys.jobs);
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.enqueue(`orphan ${i}`)));
    await h.redis.xreadgroup('GROUP', h.keys.group, 'dead', 'COUNT', 3, 'STREAMS', h.keys.jobs, '>');
    const orphans = (await pendingEntries(h)).map(([entryId]) => entryId);
    await h.consumer.start();

    // The consumer blocks on XREADGROUP COUNT 3 while the orphans go stale, and takes them
    // over between two reads: its three slots are full.
    await waitFor(() => model.held() === 3, { what: 'the three orphans reclaimed and running' });
    expect(h.consumer.stats.reclaimed).toBe(3);
    expect([...model.calls].sort()).toEqual(['orphan 0', 'orphan 1', 'orphan 2']);

    // New entries must now wait in the stream. A read left blocked with slots promised would be
    // handed them as they are added; a read issued later, within a round or two: three upkeep
    // rounds (heartbeats of the orphans) after adding them, none may be pending.
    const heartbeats = isHeartbeat(h.name);
    const before = commands.count(heartbeats);
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.enqueue(`fresh ${i}`)));
    await waitFor(() => commands.count(heartbeats) >= before + 3, { what: 'three upkeep rounds' });
    const pending = await pendingEntries(h);
    expect(pending.map(([entryId, consumer]) => [entryId, consumer])).toEqual(orphans.map((id) => [id, h.name]));
    expect(h.consumer.inFlight()).toBe(3);
    expect(model.calls).toHaveLength(3);

    model.releaseAll();
    await waitFor(() => h.consumer.stats.succeeded === 6, { what: 'all six done' });
    expect(model.peak()).toBe(3);
    expect(await pendingCount(h)).toBe(0);
  });

  it('fails a job whose consumers keep dying once its attempts are spent', async () => {
    const h = harnesses.create({
      settings: { claimIdleMs: 200, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('killer');
    await h.redis.xreadgroup('GROUP', h.keys.group, 'crashed', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.redis.hset(h.keys.job(id), 'status', 'processing', 'attempts', '2');
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failed' });
    const reason = 'gave up after 2 attempts: its consumers stopped';
    expect(await h.redis.hget(h.keys.job(id), 'reason')).toBe(reason);
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead.map(([, fields]) => fields.slice(0, 6))).toEqual([['id', id, 'input', 'killer', 'reason', reason]]);
    expect(await pendingCount(h)).toBe(0);
  });

  it('takes back its own pending entries when it starts again under the same name', async () => {
    const name = uniqueName('same-name');
    const h = harnesses.create({ settings: { name } });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('mine');
    await h.redis.xreadgroup('GROUP', h.keys.group, name, 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'done' });
    // Read back from its own pending list at once, not reclaimed (the claim timeout is a minute).
    expect(h.consumer.stats.reclaimed).toBe(0);
    expect(await h.redis.hget(h.keys.job(id), 'attempts')).toBe('1');
    expect(await pendingCount(h)).toBe(0);
  });

  it('stores one result when two consumers race on one job', async () => {
    // Each consumer answers with its own label, so the stored result tells who wrote it.
    const modelA = heldModel(() => 'a-result');
    const modelB = heldModel(() => 'b-result');
    // One slot: while `a` runs the job it reads nothing more, so the second delivery can only go to `b`.
    const a = harnesses.create({ model: modelA, settings: { concurrency: 1 } });
    const done = await a.subscribe(a.keys.done);
    await a.consumer.start();
    const id = await a.enqueue('contested');
    await waitFor(() => modelA.held() === 1, { what: 'a runs it' });

    // A second delivery of the job while `a` still runs it (at least once delivery: a consumer
    // presumed dead that was only slow).
    await a.redis.xadd(a.keys.jobs, '*', 'id', id, 'input', 'contested');
    const b = harnesses.create({ model: modelB, prefix: a.prefix });
    await b.consumer.start();
    await waitFor(() => modelB.held() === 1, { what: 'b runs it too' });
    expect(await a.redis.hget(a.keys.job(id), 'attempts')).toBe('2');

    modelA.releaseAll();
    await waitFor(() => a.consumer.stats.succeeded === 1, { what: 'a stored its result' });
    modelB.releaseAll();
    await waitFor(() => b.consumer.stats.duplicates === 1, { what: 'b found it stored' });
    await done.settled();
    expect(await a.redis.hget(a.keys.job(id), 'result')).toBe('a-result');
    expect(b.consumer.stats.succeeded).toBe(0);
    expect(done.messages).toEqual([id]);
    expect(await pendingCount(a)).toBe(0);
    expect(await a.redis.xlen(a.keys.jobs)).toBe(0);
  });
});

describe('group upkeep', () => {
  it('removes consumers idle for long with nothing pending, and keeps the others', async () => {
    const h = harnesses.create({ settings: { removeIdleConsumersAfterMs: 1000 } });
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
    expect((await names()).sort()).toEqual([h.name, 'holding'].sort());
  });
});

describe('Redis losing the group', () => {
  it('recreates the group on NOGROUP (Redis restarted empty) and goes on', async () => {
    const h = harnesses.create({ settings: { blockMs: 100 } });
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
