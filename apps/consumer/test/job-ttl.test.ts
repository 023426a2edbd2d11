import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';
import { heldModel } from '../../../test/support/held-model.js';

// A job's TTL is renewed when it starts, while it runs (with each heartbeat)
// and when it is retried: a job never expires while it is worked on, however
// short RESULT_TTL_SECONDS is next to the model's time.

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

async function redisNowMs(h: Harness): Promise<number> {
  const [seconds, micros] = await h.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Waits, on Redis's clock, until `ms` have passed since `fromMs`: what a TTL counts. */
async function redisTimePassed(h: Harness, fromMs: number, ms: number): Promise<void> {
  await waitFor(async () => (await redisNowMs(h)) >= fromMs + ms, { timeoutMs: ms + 10_000, what: `${ms} ms` });
}

describe('job TTL', () => {
  it('outlives a model call longer than RESULT_TTL_SECONDS', async () => {
    const ttlSeconds = 1;
    const model = heldModel();
    // Heartbeats every 200 ms (a third of the claim timeout) renew the TTL of the job in hand.
    const h = harnesses.create({ model, settings: { resultTtlSeconds: ttlSeconds, claimIdleMs: 600 } });
    const done = await h.subscribe(h.keys.done);
    await h.consumer.start();
    const submitted = await redisNowMs(h);
    const id = await h.enqueue('longer than its TTL', ttlSeconds);
    await waitFor(() => model.held() === 1, { what: 'running' });

    // Two and a half TTLs after submission, the model still holds the call.
    await redisTimePassed(h, submitted, 2500);
    expect(await h.redis.hget(h.keys.job(id), 'status')).toBe('processing');
    expect(await h.redis.pttl(h.keys.job(id))).toBeGreaterThan(0);

    model.releaseAll();
    await waitFor(() => done.messages.includes(id), { what: 'finished' });
    expect(h.consumer.stats).toMatchObject({ succeeded: 1, expired: 0 });
  });

  it('outlives a retry delay longer than RESULT_TTL_SECONDS', async () => {
    const ttlSeconds = 1;
    let calls = 0;
    const h = harnesses.create({
      model: {
        async predict(input) {
          calls += 1;
          if (calls === 1) throw new Error('down for a moment');
          return `ok ${input}`;
        },
      },
      // The retry is due 1 to 2 s after the failure: the job waits longer than its TTL.
      settings: {
        resultTtlSeconds: ttlSeconds,
        claimIdleMs: 600,
        retry: { maxAttempts: 2, baseDelayMs: 2000, maxDelayMs: 2000 },
      },
    });
    const done = await h.subscribe(h.keys.done);
    await h.consumer.start();
    const id = await h.enqueue('retried later', ttlSeconds);

    await waitFor(() => done.messages.includes(id), { timeoutMs: 15_000, what: 'finished after the retry' });
    expect(calls).toBe(2);
    expect(h.consumer.stats).toMatchObject({ succeeded: 1, retried: 1, expired: 0 });
  });
});
