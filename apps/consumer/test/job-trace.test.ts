import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool } from './consumer-harness.js';

const harnesses = harnessPool();
afterEach(() => harnesses.disposeAll());

const TRACE = { requestId: 'checkout-42', traceparent: `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01` };

/** A model that fails each input's first call (retryable), then answers. */
function failsOnce() {
  const seen = new Set<string>();
  return {
    name: 'flaky',
    version: '1',
    predict: async (input: string) => {
      if (seen.has(input)) return `ok:${input}`;
      seen.add(input);
      throw new Error('first call fails');
    },
  };
}

describe("a job's request id and traceparent in the consumer", () => {
  it('are on every log line about the job, through its retry, and the finished hash drops them', async () => {
    const h = harnesses.create({
      model: failsOnce(),
      settings: { retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 } },
    });
    await h.consumer.start();
    const id = await h.enqueue('traced', 3600, TRACE);
    expect(await h.redis.hmget(h.keys.job(id), 'request_id', 'traceparent')).toEqual([
      TRACE.requestId,
      TRACE.traceparent,
    ]);
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'succeeded', { what: 'the job' });

    const retried = h.logs.find((line) => line.msg === 'attempt failed; retry scheduled');
    expect(retried).toMatchObject({ jobId: id, requestId: TRACE.requestId, traceparent: TRACE.traceparent });
    // A finished hash keeps what GET answers with, not the request's ids.
    const hash = await h.redis.hgetall(h.keys.job(id));
    expect(Object.keys(hash).sort()).toEqual(['attempts', 'finished', 'input', 'model', 'result', 'status']);
  });

  it('go with a job that fails for good: the warning names them, its dead letter keeps the request id', async () => {
    const h = harnesses.create({
      model: { predict: () => Promise.reject(Object.assign(new Error('no'), { retryable: false })) },
    });
    await h.consumer.start();
    const id = await h.enqueue('doomed', 3600, TRACE);
    await waitFor(async () => (await h.redis.hget(h.keys.job(id), 'status')) === 'failed', { what: 'the failure' });
    expect(h.logs.find((line) => line.msg === 'job failed for good')).toMatchObject({
      jobId: id,
      requestId: TRACE.requestId,
      traceparent: TRACE.traceparent,
    });
    const [[, letter]] = (await h.redis.xrange(h.keys.dead, '-', '+')) as [[string, string[]]];
    expect(letter.slice(letter.indexOf('request_id'), letter.indexOf('request_id') + 2)).toEqual([
      'request_id',
      TRACE.requestId,
    ]);
    expect(await h.redis.hexists(h.keys.job(id), 'request_id')).toBe(0);
  });

  it("is carried by a retry's new stream entry, as the first one had it", async () => {
    const h = harnesses.create({ settings: { retry: { maxAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } } });
    const { keys } = h;
    const id = await h.enqueue('later', 3600, TRACE);
    // As retry-job leaves it: waiting in the retries set, its entry gone; due now.
    await h.redis.xtrim(keys.jobs, 'MAXLEN', 0);
    await h.redis.hset(keys.job(id), 'status', 'queued', 'attempts', '1');
    await h.redis.zadd(keys.retries, 0, id);
    await h.redis.xgroup('CREATE', keys.jobs, keys.group, '$', 'MKSTREAM');
    const entries = await h.logCommands(keys.jobs);
    await h.consumer.start();
    await waitFor(async () => (await h.redis.hget(keys.job(id), 'status')) === 'succeeded', { what: 'the retry' });
    const xadds = entries.commands.filter((command) => command[0]?.toLowerCase() === 'xadd');
    expect(xadds).toHaveLength(1);
    expect(xadds[0]?.slice(-4)).toEqual(['rid', TRACE.requestId, 'tp', TRACE.traceparent]);
  });
});
