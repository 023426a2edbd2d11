import { serveDefinition } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool } from './consumer-harness.js';

// In the consumer, the jobs of one XREADGROUP start together: a model with
// predictBatch gets them as one batch (MODEL_MAX_BATCH_SIZE at most), and each
// job still gets its own outcome.

const harnesses = harnessPool();
afterEach(() => harnesses.disposeAll());

describe('a batch model in the consumer', () => {
  it('runs the jobs read together in one predictBatch call, each job with its own result or failure', async () => {
    const sizes: number[] = [];
    const model = serveDefinition(
      {
        name: 'upper',
        version: '1',
        async predictBatch(inputs) {
          sizes.push(inputs.length);
          return inputs.map((input) =>
            input === 'refuse'
              ? Object.assign(new Error('refused'), { retryable: false })
              : String(input).toUpperCase(),
          );
        },
      },
      { maxBatchSize: 32, maxBatchDelayMs: 0 },
    );
    const h = harnesses.create({ model });
    const inputs = ['one', 'two', 'refuse', 'four', 'five', 'six'];
    const ids: string[] = [];
    for (const input of inputs) ids.push(await h.enqueue(input));
    await h.consumer.start();

    const statusOf = (id: string) => h.redis.hget(h.keys.job(id), 'status');
    await waitFor(
      async () => (await Promise.all(ids.map(statusOf))).every((s) => s === 'succeeded' || s === 'failed'),
      {
        what: 'every job to finish',
      },
    );
    expect(sizes).toEqual([6]);
    const stored = await Promise.all(ids.map((id) => h.redis.hmget(h.keys.job(id), 'status', 'result', 'reason')));
    expect(stored).toEqual([
      ['succeeded', 'ONE', null],
      ['succeeded', 'TWO', null],
      ['failed', null, 'refused'],
      ['succeeded', 'FOUR', null],
      ['succeeded', 'FIVE', null],
      ['succeeded', 'SIX', null],
    ]);
  });

  it('runs a JSON model (with schemas) on the JSON text the API stored, and stores its result as JSON text', async () => {
    const model = serveDefinition(
      {
        name: 'json',
        version: '1',
        inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        outputSchema: { type: 'object', properties: { twice: { type: 'number' } }, required: ['twice'] },
        async predictBatch(inputs) {
          return inputs.map((input) => {
            const { n } = input as { n: number };
            return n < 0 ? { wrong: true } : { twice: 2 * n };
          });
        },
      },
      { maxBatchSize: 32, maxBatchDelayMs: 0 },
    );
    const h = harnesses.create({ model, settings: { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } } });
    const ok = await h.enqueue('{"n":21}');
    const off = await h.enqueue('{"n":-1}');
    await h.consumer.start();
    const statusOf = (id: string) => h.redis.hget(h.keys.job(id), 'status');
    await waitFor(async () => (await statusOf(ok)) === 'succeeded' && (await statusOf(off)) === 'failed', {
      what: 'both jobs to finish',
    });
    expect(await h.redis.hget(h.keys.job(ok), 'result')).toBe('{"twice":42}');
    // A result off its schema fails the job.
    expect(await h.redis.hget(h.keys.job(off), 'reason')).toBe('The model failed to make a prediction.');
  });
});
