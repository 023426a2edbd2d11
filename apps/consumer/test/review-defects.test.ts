import { createHash, randomUUID } from 'node:crypto';
import {
  createDeadLetters,
  FINISH_JOBS_LUA,
  mockResult,
  MODEL_FAILURE_REASON,
  REMOVE_IDLE_CONSUMERS_LUA,
  START_JOBS_LUA,
  type Model,
} from '@foretell/shared';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, uniqueName, type Harness } from './consumer-harness.js';
import { heldModel } from '../../../test/support/held-model.js';
import { startRedisRelay, type RedisRelay } from '../../../test/support/redis-relay.js';

// The consumer-side defects of the review (issue 7), each reproduced: a gate
// in front of Redis puts the test's step exactly inside a race window.

const harnesses = harnessPool();
const gates: RedisRelay[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  // Opened first: a consumer whose commands are held could not close.
  for (const gate of gates) gate.open();
  try {
    await harnesses.disposeAll();
  } finally {
    await Promise.all(gates.splice(0).map((gate) => gate.close()));
  }
});

/** A gate in front of the run's Redis, closed after the test. */
async function gate(): Promise<RedisRelay> {
  const opened = await startRedisRelay(inject('redisUrl'));
  gates.push(opened);
  return opened;
}

/**
 * Whether a chunk of commands calls the script: ioredis sends its body
 * (EVAL) the first time on a connection, then its SHA1 (EVALSHA).
 */
function calls(lua: string): (chunk: string) => boolean {
  const sha = createHash('sha1').update(lua).digest('hex');
  // The end of a script is its own; the beginning is the prelude they share.
  const body = lua.slice(-300);
  return (chunk) => chunk.includes(sha) || chunk.includes(body);
}

type PendingEntry = [entryId: string, consumer: string, idleMs: number, deliveries: number];

async function pending(h: Harness): Promise<PendingEntry[]> {
  return (await h.redis.xpending(h.keys.jobs, h.keys.group, '-', '+', 100)) as PendingEntry[];
}

async function redisNowMs(h: Harness): Promise<number> {
  const [seconds, micros] = await h.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A model that counts its calls and answers at once. */
function countingModel(): Model & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async predict(input) {
      calls.push(input);
      return mockResult(input);
    },
  };
}

describe('releasing a redelivered entry', () => {
  it.each([
    ['failed for good', true],
    ['whose hash expired', false],
  ])('of a job %s only acks it: a dead-letter replay meanwhile runs the job for real', async (_, hashKept) => {
    const model = countingModel();
    const theGate = await gate();
    const h = harnesses.create({ model, connectVia: theGate.url });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = randomUUID();
    if (hashKept) {
      await h.redis.hset(h.keys.job(id), 'status', 'failed', 'input', 'again', 'attempts', '3', 'finished', '1');
      await h.redis.hset(h.keys.job(id), 'reason', MODEL_FAILURE_REASON);
    }
    const deadEntry = await h.redis.xadd(h.keys.dead, '*', 'id', id, 'input', 'again', 'reason', 'x', 'attempts', '3');
    // A stale entry of the job, delivered again (at least once delivery).
    await h.redis.xadd(h.keys.jobs, '*', 'id', id, 'input', 'again');

    // The consumer finds the job done (or gone) and sends the call that releases the entry: held there.
    const releasing = theGate.arm(calls(FINISH_JOBS_LUA));
    await h.consumer.start();
    await releasing;
    // Meanwhile an operator replays the dead letter: the job is queued again, with an entry of its own.
    await createDeadLetters(h.redis, h.keys, 3600).replay(deadEntry ?? '');
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('queued');
    theGate.open();

    // Both entries are gone once consumed: the stale one released, the replayed one finished.
    await waitFor(async () => (await h.redis.xlen(h.keys.jobs)) === 0 && (await pending(h)).length === 0, {
      what: 'both entries consumed',
    });
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({
      status: 'succeeded',
      result: mockResult('again'),
      attempts: '1',
    });
    expect(model.calls).toEqual(['again']);
  });
});

describe('failure reasons', () => {
  it("gives clients a generic reason, and keeps the model's own message in the logs and the dead letter", async () => {
    const secret = 'cannot reach postgres://models:s3cret@db.internal:5432/weights';
    const h = harnesses.create({
      model: { predict: () => Promise.reject(new Error(secret)) },
      settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('leaky');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failed' });

    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(hash.reason).toBe(MODEL_FAILURE_REASON);
    expect(JSON.stringify(hash)).not.toContain('s3cret');
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([['id', id, 'input', 'leaky', 'reason', secret, 'attempts', '1']]);
    const logged = h.logs.find((line) => line.msg === 'job failed for good');
    expect(JSON.stringify(logged)).toContain(secret);
  });

  it('keeps no reason of an earlier failed attempt once the job succeeds', async () => {
    let calls = 0;
    const h = harnesses.create({
      model: {
        async predict(input) {
          calls += 1;
          if (calls === 1) throw new Error('flaky once');
          return mockResult(input);
        },
      },
      settings: { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('second time lucky');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'success' });
    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(Object.keys(hash).sort()).toEqual(['attempts', 'finished', 'input', 'result', 'status']);
    expect(hash.attempts).toBe('2');
  });
});

describe('attempts', () => {
  it('stores the attempts made, not one more, when it gives up on a job whose consumers kept dying', async () => {
    const h = harnesses.create({
      settings: { claimIdleMs: 200, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const id = await h.enqueue('killer');
    // Its second attempt's consumer died too: the entry is pending under it.
    await h.redis.xreadgroup('GROUP', h.keys.group, 'crashed', 'COUNT', 1, 'STREAMS', h.keys.jobs, '>');
    await h.redis.hset(h.keys.job(id), 'status', 'processing', 'attempts', '2');
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'failed' });
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({
      reason: 'gave up after 2 attempts: its consumers stopped',
      attempts: '2',
    });
    const [letter] = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(letter?.[1].slice(6, 8)).toEqual(['attempts', '2']);
  });
});

describe('the grace-period hard stop', () => {
  it('does not start the model of a job whose start script was in flight when the grace period ended', async () => {
    const model = heldModel();
    const theGate = await gate();
    const h = harnesses.create({ model, connectVia: theGate.url, settings: { shutdownGraceMs: 50 } });
    await h.consumer.start();
    await h.enqueue('running');
    await waitFor(() => model.held() === 1, { what: 'the first job running' });

    // The second job's start script is held on its way to Redis.
    const starting = theGate.arm(calls(START_JOBS_LUA));
    const late = await h.enqueue('late');
    await starting;
    let closed = false;
    const closing = h.consumer.close().then(() => {
      closed = true;
    });
    // The grace period ends: the running job's model call is aborted.
    await waitFor(() => model.aborted() === 1, { what: 'the hard stop', timeoutMs: 20_000 });
    theGate.open();
    await waitFor(() => closed || model.calls.length > 1, { what: 'close, or a model call after the hard stop' });

    expect(model.calls).toEqual(['running']);
    await closing;
    // Left as a crash leaves it: pending, for another consumer.
    expect(await h.redis.hget(h.keys.job(late), 'status')).toBe('processing');
    expect((await pending(h)).map(([, consumer]) => consumer)).toEqual([h.name, h.name]);
  });
});

describe('heartbeats', () => {
  it('come every third of the claim timeout, not every second', async () => {
    const claimIdleMs = 6000;
    const model = heldModel();
    const h = harnesses.create({ model, settings: { claimIdleMs } });
    const commands = await h.logCommands(h.keys.jobs);
    await h.consumer.start();
    await h.enqueue('long');
    await waitFor(() => model.held() === 1, { what: 'running' });
    const [entryId = 'none'] = (await pending(h)).map(([id]) => id);

    const isHeartbeat = ([name, , , by, , ...rest]: readonly string[]) =>
      name === 'xclaim' && by === h.name && rest.at(-1) === 'JUSTID' && rest.includes(entryId);
    const heartbeatTimes = () =>
      commands.commands.flatMap((command, i) => (isHeartbeat(command) ? [commands.times[i] ?? 0] : []));
    await waitFor(() => heartbeatTimes().length >= 4, { timeoutMs: 20_000, what: 'four heartbeats' });
    const times = heartbeatTimes();
    const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0));
    // A third of 6 s is 2 s; Redis timestamps the commands, a little jitter either way.
    expect(Math.min(...gaps)).toBeGreaterThan(1700);
    expect(Math.max(...(await pending(h)).map(([, , idleMs]) => idleMs))).toBeLessThan(claimIdleMs);
  });

  it('leave alone an entry that another consumer took over, so that it is not run by both', async () => {
    const claimIdleMs = 900;
    const model = heldModel();
    const a = harnesses.create({ model, settings: { name: uniqueName('a'), claimIdleMs } });
    const commands = await a.logCommands(a.keys.jobs);
    await a.consumer.start();
    const id = await a.enqueue('contested');
    await waitFor(() => model.held() === 1, { what: 'a runs it' });
    const [entryId = 'none'] = (await pending(a)).map(([entry]) => entry);

    // `a` stalled past the claim timeout, and `b` reclaimed the entry (as its XAUTOCLAIM would).
    const b = uniqueName('b');
    await a.redis.xclaim(a.keys.jobs, a.keys.group, b, 0, entryId, 'JUSTID');
    // A heartbeat round of `a` after the takeover: its XCLAIM, or the XPENDING check that precedes it.
    const roundsOfA = () => {
      const takeover = commands.commands.findIndex(([name, , , by]) => name === 'xclaim' && by === b);
      if (takeover < 0) return 0;
      return commands.commands
        .slice(takeover + 1)
        .filter(
          ([name, , , by, , , owner]) =>
            (name === 'xclaim' && by === a.name) || (name === 'xpending' && owner === a.name),
        )
        .filter((command) => command.includes(entryId)).length;
    };
    await waitFor(() => roundsOfA() >= 1, { timeoutMs: 20_000, what: 'a heartbeat round of a after the takeover' });

    expect((await pending(a)).map(([entry, consumer]) => [entry, consumer])).toEqual([[entryId, b]]);
    model.releaseAll();
    await waitFor(async () => (await a.redis.hget(a.keys.job(id), 'status')) === 'succeeded', { what: 'done' });
  });
});

describe('retry due times', () => {
  it("come from Redis's clock, whatever the consumer's clock says", async () => {
    // This consumer's clock is an hour behind (a VM that resumed, a host without NTP).
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    const delayMs = 600_000;
    let calls = 0;
    const h = harnesses.create({
      model: {
        async predict() {
          calls += 1;
          throw new Error('try again later');
        },
      },
      settings: { retry: { maxAttempts: 3, baseDelayMs: delayMs, maxDelayMs: delayMs } },
    });
    await h.consumer.start();
    const before = await redisNowMs(h);
    const id = await h.enqueue('skewed');
    const due = Number(await waitFor(() => h.redis.zscore(h.keys.retries, id), { what: 'retry scheduled' }));
    const after = await redisNowMs(h);
    expect(calls).toBe(1);
    // Equal jitter: half the delay to all of it, after the failed attempt.
    expect(due).toBeGreaterThanOrEqual(before + delayMs / 2);
    expect(due).toBeLessThanOrEqual(after + delayMs);
  });
});

describe('the idle-consumer sweep', () => {
  it('never removes a consumer that is handed an entry while the sweep runs', async () => {
    const model = heldModel();
    const theGate = await gate();
    const h = harnesses.create({
      model,
      connectVia: theGate.url,
      settings: { concurrency: 1, removeIdleConsumersAfterMs: 1000 },
    });
    const commands = await h.logCommands(h.keys.jobs);
    await h.redis.xgroup('CREATE', h.keys.jobs, h.keys.group, '0', 'MKSTREAM');
    const idle = uniqueName('idle');
    await h.redis.xgroup('CREATECONSUMER', h.keys.jobs, h.keys.group, idle);
    // The consumer's one slot is taken: what is queued next stays in the stream for others.
    await h.consumer.start();
    await h.enqueue('keeps the slot');
    await waitFor(() => model.held() === 1, { what: 'slot taken' });

    const sweeping = theGate.arm((chunk) => /DELCONSUMER/i.test(chunk) || calls(REMOVE_IDLE_CONSUMERS_LUA)(chunk));
    await sweeping;
    // While the sweep is on its way, the idle consumer comes back and is handed an entry.
    const handed = await h.enqueue('handed to the idle one');
    const read = (await h.redis.xreadgroup('GROUP', h.keys.group, idle, 'COUNT', 1, 'STREAMS', h.keys.jobs, '>')) as
      [string, [string, string[]][]][] | null;
    const handedEntry = read?.[0]?.[1][0]?.[0] ?? 'none';
    const mark = commands.commands.length;
    theGate.open();
    // The sweep ran: its XGROUP (or the XINFO of the script) is logged after the gate opened.
    await waitFor(() => commands.commands.slice(mark).some(([name]) => name === 'xgroup' || name === 'xinfo'), {
      what: 'the sweep',
    });

    expect((await pending(h)).filter(([, consumer]) => consumer === idle).map(([entry]) => entry)).toEqual([
      handedEntry,
    ]);
    expect(await h.redis.hget(h.keys.job(handed), 'status')).toBe('queued');
  });
});
