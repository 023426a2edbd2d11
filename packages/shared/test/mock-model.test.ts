import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMockModel, drawLatencyMs, mockResult } from '../src/mock-model.js';

describe('mockResult', () => {
  it('is a digit string in 1000–20000, the same for the same input', () => {
    for (const input of ['', 'a', 'Sample input data for the model', 'émoji 🚀', 'x'.repeat(10_000)]) {
      const result = mockResult(input);
      expect(result).toMatch(/^\d+$/);
      expect(Number(result)).toBeGreaterThanOrEqual(1000);
      expect(Number(result)).toBeLessThanOrEqual(20000);
      expect(mockResult(input)).toBe(result);
    }
  });

  it('spreads different inputs over the range', () => {
    const results = new Set(Array.from({ length: 500 }, (_, i) => mockResult(`input ${i}`)));
    expect(results.size).toBeGreaterThan(480);
  });
});

describe('drawLatencyMs', () => {
  it('draws whole seconds in 10–17 s by default, reaching both ends', () => {
    const seen = new Set(
      Array.from({ length: 2000 }, () => drawLatencyMs({ minLatencyMs: 10_000, maxLatencyMs: 17_000 })),
    );
    expect([...seen].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17].map((s) => s * 1000));
  });

  it('draws milliseconds when a bound is not a whole second', () => {
    for (let i = 0; i < 500; i += 1) {
      const latency = drawLatencyMs({ minLatencyMs: 1000, maxLatencyMs: 1700 });
      expect(latency).toBeGreaterThanOrEqual(1000);
      expect(latency).toBeLessThanOrEqual(1700);
      expect(Number.isInteger(latency)).toBe(true);
    }
    const seen = new Set(Array.from({ length: 500 }, () => drawLatencyMs({ minLatencyMs: 1000, maxLatencyMs: 1700 })));
    expect(seen.size).toBeGreaterThan(100);
  });

  it('is exactly the bound when min equals max (0 for tests and benchmarks)', () => {
    expect(drawLatencyMs({ minLatencyMs: 0, maxLatencyMs: 0 })).toBe(0);
    expect(drawLatencyMs({ minLatencyMs: 250, maxLatencyMs: 250 })).toBe(250);
  });
});

describe('createMockModel', () => {
  // Fake timers: the model's latency passes only when the test says so, however slow the machine.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Settles the promise's state into a variable the test can read without awaiting it. */
  function track(promise: Promise<string>): { state: 'pending' | 'resolved' | 'rejected'; value?: unknown } {
    const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: unknown } = { state: 'pending' };
    promise.then(
      (value) => Object.assign(tracked, { state: 'resolved', value }),
      (error: unknown) => Object.assign(tracked, { state: 'rejected', value: error }),
    );
    return tracked;
  }

  it('answers mockResult(input) at once at latency 0', async () => {
    const model = createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 });
    await expect(model.predict('hello', { signal: new AbortController().signal })).resolves.toBe(mockResult('hello'));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits on a timer for its latency, without blocking the event loop, then answers', async () => {
    const model = createMockModel({ minLatencyMs: 200, maxLatencyMs: 200 });
    const prediction = track(model.predict('x', { signal: new AbortController().signal }));
    // predict() returned before its latency passed: the wait is a timer, not a computation.
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(prediction.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(prediction).toEqual({ state: 'resolved', value: mockResult('x') });
  });

  it("rejects with the signal's reason as soon as it is aborted, and clears its timer", async () => {
    const model = createMockModel({ minLatencyMs: 3_600_000, maxLatencyMs: 3_600_000 });
    const controller = new AbortController();
    const prediction = track(model.predict('x', { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(0);
    expect(prediction.state).toBe('pending');

    const reason = new Error('caller gave up');
    controller.abort(reason);
    // No time passes: only the abort can settle it.
    await vi.advanceTimersByTimeAsync(0);
    expect(prediction).toEqual({ state: 'rejected', value: reason });
    expect(prediction.value).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the reason, starting no timer, when its signal is already aborted', async () => {
    const model = createMockModel({ minLatencyMs: 3_600_000, maxLatencyMs: 3_600_000 });
    const reason = new Error('gone before the call');
    await expect(model.predict('x', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses an upside-down latency range', () => {
    expect(() => createMockModel({ minLatencyMs: 5, maxLatencyMs: 1 })).toThrow(RangeError);
    expect(() => createMockModel({ minLatencyMs: -1, maxLatencyMs: 1 })).toThrow(RangeError);
  });
});
