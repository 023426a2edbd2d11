import { afterEach, describe, expect, it, vi } from 'vitest';
import { batchingPredict, type PredictBatch } from '../src/model-batcher.js';

/** A batch model that records each call's inputs and signal, and answers `<input>` unless told otherwise. */
function recordingModel(answer: PredictBatch = async (inputs) => inputs.map((input) => `<${String(input)}>`)) {
  const calls: { inputs: readonly unknown[]; signal: AbortSignal }[] = [];
  const predictBatch: PredictBatch = (inputs, options) => {
    calls.push({ inputs, signal: options.signal });
    return answer(inputs, options);
  };
  return { calls, predictBatch };
}

/** A batch model whose calls wait until the test releases them. */
function heldModel() {
  const releases: (() => void)[] = [];
  const model = recordingModel(
    (inputs) => new Promise((resolve) => releases.push(() => resolve(inputs.map((input) => `<${String(input)}>`)))),
  );
  return { ...model, release: () => releases.shift()?.() };
}

const open = () => ({ signal: new AbortController().signal });

afterEach(() => {
  vi.useRealTimers();
});

describe('batchingPredict', () => {
  it('gathers the calls made in the same turn into one predictBatch call, each with its own result', async () => {
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((input) => predict(input, open())));
    expect(results).toEqual(['<a>', '<b>', '<c>', '<d>', '<e>']);
    expect(calls.map(({ inputs }) => inputs)).toEqual([['a', 'b', 'c', 'd', 'e']]);
  });

  it('cuts batches at maxBatchSize, in arrival order', async () => {
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const inputs = Array.from({ length: 70 }, (_, i) => `i${i}`);
    const results = await Promise.all(inputs.map((input) => predict(input, open())));
    expect(results).toEqual(inputs.map((input) => `<${input}>`));
    expect(calls.map(({ inputs: batch }) => batch.length)).toEqual([32, 32, 6]);
    expect(calls.flatMap(({ inputs: batch }) => batch)).toEqual(inputs);
  });

  it('with delay 0, does not hold a call for one of a later turn', async () => {
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const first = predict('first', open());
    await new Promise((resolve) => setImmediate(resolve));
    const second = predict('second', open());
    expect(await Promise.all([first, second])).toEqual(['<first>', '<second>']);
    expect(calls.map(({ inputs }) => inputs)).toEqual([['first'], ['second']]);
  });

  it('with a delay, waits that long after the first call for more, and no longer once the batch is full', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 3, maxBatchDelayMs: 50, maxConcurrentBatches: 8 });
    const early = [predict('a', open())];
    await vi.advanceTimersByTimeAsync(30);
    early.push(predict('b', open()));
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(await Promise.all(early)).toEqual(['<a>', '<b>']);
    expect(calls.map(({ inputs }) => inputs)).toEqual([['a', 'b']]);

    // Three calls fill a batch: it goes at once, with no timer run.
    const full = ['c', 'd', 'e'].map((input) => predict(input, open()));
    expect(await Promise.all(full)).toEqual(['<c>', '<d>', '<e>']);
    expect(calls.map(({ inputs }) => inputs)).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it("keeps each input's error to itself: an Error outcome rejects that call alone", async () => {
    const refused = new Error('refused: b');
    const { predictBatch } = recordingModel(async (inputs) => inputs.map((input) => (input === 'b' ? refused : input)));
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((input) => predict(input, open())));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: refused },
      { status: 'fulfilled', value: 'c' },
    ]);
  });

  it('rejects every call of a batch whose predictBatch rejects, or answers the wrong number of outcomes', async () => {
    const down = new Error('model down');
    const failing = batchingPredict(
      async () => {
        throw down;
      },
      { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 },
    );
    const failed = await Promise.allSettled(['a', 'b'].map((input) => failing(input, open())));
    expect(failed).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);

    const short = batchingPredict(async () => ['only one'], {
      maxBatchSize: 32,
      maxBatchDelayMs: 0,
      maxConcurrentBatches: 8,
    });
    const miscounted = await Promise.allSettled(['a', 'b'].map((input) => short(input, open())));
    for (const outcome of miscounted) {
      expect(outcome).toMatchObject({
        status: 'rejected',
        reason: { message: 'predictBatch() returned 1 outcomes for 2 inputs' },
      });
    }
  });

  it('an input aborted while it waits leaves the queue: rejected with the reason, the batch runs without it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 50, maxConcurrentBatches: 8 });
    const gone = new AbortController();
    const kept = predict('kept', open());
    const dropped = predict('dropped', { signal: gone.signal });
    gone.abort(new Error('client gone'));
    await expect(dropped).rejects.toThrow('client gone');
    await vi.advanceTimersByTimeAsync(50);
    expect(await kept).toBe('<kept>');
    expect(calls.map(({ inputs }) => inputs)).toEqual([['kept']]);
  });

  it('an input aborted while its batch runs is rejected at once; the batch goes on for the others', async () => {
    const { calls, predictBatch, release } = heldModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const gone = new AbortController();
    const others = [predict('a', open()), predict('c', open())];
    const dropped = predict('b', { signal: gone.signal });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    gone.abort(new Error('timed out'));
    await expect(dropped).rejects.toThrow('timed out');
    expect(calls[0]?.signal.aborted).toBe(false);
    release();
    expect(await Promise.all(others)).toEqual(['<a>', '<c>']);
  });

  it("aborts the batch's own signal once every one of its inputs is aborted", async () => {
    const { calls, predictBatch } = heldModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    const controllers = [new AbortController(), new AbortController()];
    const calling = controllers.map((controller, i) => predict(`x${i}`, { signal: controller.signal }));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    controllers[0]?.abort(new Error('first gone'));
    expect(calls[0]?.signal.aborted).toBe(false);
    controllers[1]?.abort(new Error('second gone'));
    expect(calls[0]?.signal.aborted).toBe(true);
    await expect(Promise.all(calling)).rejects.toThrow('first gone');
  });

  it('rejects an input whose signal is already aborted without calling the model', async () => {
    const { calls, predictBatch } = recordingModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 8 });
    await expect(predict('late', { signal: AbortSignal.abort(new Error('already gone')) })).rejects.toThrow(
      'already gone',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]);
  });

  it('while its only call slot is busy, gathers what arrives into the next batch, which goes as the call ends', async () => {
    const { calls, predictBatch, release } = heldModel();
    const predict = batchingPredict(predictBatch, { maxBatchSize: 32, maxBatchDelayMs: 0, maxConcurrentBatches: 1 });
    const first = predict('first', open());
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    // Each in a later turn: without a slot free, they wait together.
    const later: Promise<unknown>[] = [];
    for (const input of ['b', 'c', 'd']) {
      later.push(predict(input, open()));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(calls).toHaveLength(1);
    release();
    expect(await first).toBe('<first>');
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    release();
    expect(await Promise.all(later)).toEqual(['<b>', '<c>', '<d>']);
    expect(calls.map(({ inputs }) => inputs)).toEqual([['first'], ['b', 'c', 'd']]);
  });
});
