// Cancellation as the consumer sees it: the API's cancel-job script writes
// `canceled` and announces running jobs; a real consumer on the run's Redis
// aborts the model call, never runs a queued job, drops a waiting retry, and
// never turns a canceled job into a succeeded one.
import {
  CANCEL_JOB_LUA,
  decodeCancelReply,
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  mockResult,
  type Model,
} from '@foretell/shared';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { heldModel } from '../../../test/support/held-model.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { cancelListenerConnectionName } from '../src/cancel-listener.js';
import { harnessPool, type Harness } from './consumer-harness.js';

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

const TTL_SECONDS = 3600;

/** What POST /predict/{id}/cancel runs (job-store.ts), as an owner or without keys. */
async function cancel(h: Harness, id: string, ownerId?: string) {
  const keys = [h.keys.job(id), h.keys.retries, h.keys.webhooks];
  if (ownerId !== undefined) keys.push(h.keys.ownerJobs(ownerId));
  const args = [id, String(TTL_SECONDS), h.keys.done, h.keys.canceled, ownerId ?? ''];
  return decodeCancelReply(await h.redis.eval(CANCEL_JOB_LUA, keys.length, ...keys, ...args));
}

async function streamDrained(h: Harness): Promise<boolean> {
  const [pending] = (await h.redis.xpending(h.keys.jobs, h.keys.group)) as [number];
  return (await h.redis.xlen(h.keys.jobs)) === 0 && pending === 0;
}

/** A model that never looks at its signal: it answers when the test says so, canceled or not. */
function deafModel(): Model & { release(): void; started: Promise<AbortSignal> } {
  let release = () => undefined as void;
  let started: (signal: AbortSignal) => void = () => undefined;
  const startedPromise = new Promise<AbortSignal>((resolve) => (started = resolve));
  const answer = new Promise<void>((resolve) => (release = resolve));
  return {
    started: startedPromise,
    release: () => release(),
    async predict(input, { signal }) {
      started(signal);
      await answer;
      return mockResult(input);
    },
  };
}

/** The id of the connection named `name` among the subscribed ones (CLIENT LIST TYPE pubsub). */
async function pubsubClientId(h: Harness, name: string): Promise<string | undefined> {
  const list = String(await h.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const line = list.split('\n').find((entry) => entry.includes(` name=${name} `));
  return line === undefined ? undefined : /(?:^|\s)id=(\d+)/.exec(line)?.[1];
}

describe('canceling a running job', () => {
  it('aborts its model call through the signal, keeps it canceled, releases its entry and announces it once', async () => {
    const model = heldModel();
    const h = harnesses.create({ model });
    const done = await h.subscribe(h.keys.done);
    await h.consumer.start();
    const id = await h.enqueue('to be canceled');
    const { signal } = await model.called;
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('processing');

    expect(await cancel(h, id)).toEqual({ kind: 'canceled', was: 'processing' });
    await waitFor(() => signal.aborted, { what: 'the model call aborted' });
    expect(model.aborted()).toBe(1);
    await waitFor(() => streamDrained(h), { what: 'the entry released' });
    await waitFor(() => h.consumer.inFlight() === 0, { what: 'the slot freed' });

    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(hash).toMatchObject({ status: 'canceled', input: 'to be canceled', attempts: '1' });
    expect(Object.keys(hash).sort()).toEqual(['attempts', 'finished', 'input', 'status']);
    expect(h.consumer.stats).toMatchObject({ canceled: 1, succeeded: 0, failed: 0, retried: 0 });
    await done.settled();
    expect(done.messages).toEqual([id]);
    expect(h.logs.some((line) => line.msg === 'job canceled while running; model call aborted')).toBe(true);
  });

  it('keeps the job canceled when the model answers anyway (the first outcome wins)', async () => {
    const model = deafModel();
    const h = harnesses.create({ model });
    await h.consumer.start();
    const id = await h.enqueue('answers regardless');
    const signal = await model.started;
    expect(await cancel(h, id)).toEqual({ kind: 'canceled', was: 'processing' });
    // The consumer knows of the cancel; its model does not care, and answers.
    await waitFor(() => signal.aborted, { what: 'the signal aborted' });
    model.release();
    await waitFor(() => streamDrained(h), { what: 'the entry released' });
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('canceled');
    expect(await h.redis.hexists(h.keys.job(id), 'result')).toBe(0);
    expect(h.consumer.stats).toMatchObject({ canceled: 1, succeeded: 0 });
  });

  it('learns of a cancel it missed while its listener was disconnected, once it is back', async () => {
    const model = heldModel();
    const h = harnesses.create({ model });
    await h.consumer.start();
    const id = await h.enqueue('missed announcement');
    const { signal } = await model.called;
    const listener = await pubsubClientId(h, cancelListenerConnectionName(h.keys, h.name));
    expect(listener).toBeDefined();
    // In one transaction: the listener is gone before the cancel announces anything.
    const keys = [h.keys.job(id), h.keys.retries, h.keys.webhooks];
    const [[killError], [cancelError]] = (await h.redis
      .multi()
      .client('KILL', 'ID', listener!)
      .eval(CANCEL_JOB_LUA, keys.length, ...keys, id, String(TTL_SECONDS), h.keys.done, h.keys.canceled, '')
      .exec()) as [[Error | null, unknown], [Error | null, unknown]];
    expect(killError).toBeNull();
    expect(cancelError).toBeNull();
    await waitFor(() => signal.aborted, { what: 'the model call aborted after the reconnect' });
    await waitFor(() => streamDrained(h), { what: 'the entry released' });
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('canceled');
    expect(
      h.logs.some((line) => line.msg === 'job canceled while the cancel listener was away; model call aborted'),
    ).toBe(true);
  });
});

describe('canceling a job that is not running', () => {
  it('a queued job never reaches the model; its entry is released when a consumer reads it', async () => {
    const model = heldModel();
    const h = harnesses.create({ model });
    const id = await h.enqueue('never run');
    expect(await cancel(h, id)).toEqual({ kind: 'canceled', was: 'queued' });
    await h.consumer.start();
    await waitFor(() => streamDrained(h), { what: 'the entry released' });
    expect(model.calls).toEqual([]);
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({ status: 'canceled', attempts: '0' });
    expect(Number((await h.redis.get(h.keys.backlogBytes)) ?? 0)).toBe(0);
  });

  it('a job waiting for a retry leaves the retries set and is never run again', async () => {
    let calls = 0;
    const model: Model = {
      async predict() {
        calls += 1;
        throw new Error('transient');
      },
    };
    // The retry would be due in ten minutes: it is waiting when canceled.
    const h = harnesses.create({
      model,
      settings: { retry: { maxAttempts: 3, baseDelayMs: 600_000, maxDelayMs: 600_000 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('retried later');
    await waitFor(() => h.redis.zscore(h.keys.retries, id), { what: 'the retry scheduled' });
    expect(await cancel(h, id)).toEqual({ kind: 'canceled', was: 'queued' });
    expect(await h.redis.zscore(h.keys.retries, id)).toBeNull();
    expect(await h.redis.hgetall(h.keys.job(id))).toMatchObject({ status: 'canceled', attempts: '1' });
    expect(await h.redis.hexists(h.keys.job(id), 'reason')).toBe(0);
    expect(calls).toBe(1);
  });

  it('a finished job keeps its outcome, and an unknown one is missing', async () => {
    const h = harnesses.create();
    await h.consumer.start();
    const id = await h.enqueue('finished first');
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'success' });
    const ttl = await h.redis.ttl(h.keys.job(id));
    expect(await cancel(h, id)).toEqual({ kind: 'final', status: 'succeeded' });
    expect(await h.redis.hget(h.keys.job(id), 'result')).toBe(mockResult('finished first'));
    expect(await h.redis.ttl(h.keys.job(id))).toBeLessThanOrEqual(ttl);
    expect(await cancel(h, randomUUID())).toEqual({ kind: 'missing' });
  });

  it('canceling twice: the second finds it canceled', async () => {
    const h = harnesses.create();
    const id = await h.enqueue('twice');
    expect(await cancel(h, id)).toEqual({ kind: 'canceled', was: 'queued' });
    expect(await cancel(h, id)).toEqual({ kind: 'final', status: 'canceled' });
  });

  it("with API keys, another key's job is missing; the owner's cancel takes it out of the owner's set", async () => {
    const h = harnesses.create();
    const id = randomUUID();
    const call = {
      id,
      input: 'owned',
      ttlSeconds: TTL_SECONDS,
      maxQueueLength: 0,
      maxQueueBytes: 0,
      owner: { id: 'alice', maxJobs: 5 },
    };
    await h.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(h.keys, call));
    expect(await h.redis.zscore(h.keys.ownerJobs('alice'), id)).not.toBeNull();
    expect(await cancel(h, id, 'mallory')).toEqual({ kind: 'missing' });
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('queued');
    expect(await cancel(h, id, 'alice')).toEqual({ kind: 'canceled', was: 'queued' });
    expect(await h.redis.zscore(h.keys.ownerJobs('alice'), id)).toBeNull();
  });
});
