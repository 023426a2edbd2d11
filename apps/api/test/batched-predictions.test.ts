import { serveDefinition } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

// Sync requests to a model with predictBatch are gathered: up to
// MODEL_MAX_BATCH_SIZE, or MODEL_MAX_BATCH_DELAY_MS after the first.

const ctx = useTestApp();

function upperModel(maxBatchSize: number, maxBatchDelayMs: number) {
  const sizes: number[] = [];
  const model = serveDefinition(
    {
      name: 'upper',
      version: '1',
      async predictBatch(inputs) {
        sizes.push(inputs.length);
        return inputs.map((input) => (input === 'refuse' ? new Error('refused') : String(input).toUpperCase()));
      },
    },
    { maxBatchSize, maxBatchDelayMs },
  );
  return { sizes, model };
}

describe('sync predictions of a batch model', () => {
  it('concurrent requests are answered from one predictBatch call, each with its own answer or error', async () => {
    // A long delay that a full batch never waits for: the five requests go as one batch at once.
    const { sizes, model } = upperModel(5, 60_000);
    await ctx.rebuild({ model });
    const answers = await Promise.all(['a', 'b', 'refuse', 'd', 'e'].map((input) => ctx.client.post({ input })));
    expect(answers.map(({ status, body }) => [status, body])).toEqual([
      [200, '{"input":"a","result":"A"}'],
      [200, '{"input":"b","result":"B"}'],
      [500, '{"error":"The model failed to make a prediction.","code":"MODEL_FAILED"}'],
      [200, '{"input":"d","result":"D"}'],
      [200, '{"input":"e","result":"E"}'],
    ]);
    expect(sizes).toEqual([5]);
    expect(answers[0]?.headers['foretell-model-name']).toBe('upper');
  });

  it('a request that times out is answered 504 alone; its batch still answers the others', async () => {
    const { sizes, model } = upperModel(2, 60_000);
    await ctx.rebuild({ model, config: { SYNC_TIMEOUT_MS: 200 } });
    // Alone, it waits for a second input that never comes, and times out.
    const alone = await ctx.client.post({ input: 'alone' });
    expect([alone.status, alone.body]).toEqual([
      504,
      '{"error":"The model did not answer in time.","code":"PREDICTION_TIMEOUT"}',
    ]);
    expect(sizes).toEqual([]);
    const pair = await Promise.all(['x', 'y'].map((input) => ctx.client.post({ input })));
    expect(pair.map(({ status }) => status)).toEqual([200, 200]);
    expect(sizes).toEqual([2]);
  });
});
