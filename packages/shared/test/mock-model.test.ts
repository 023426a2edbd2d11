import { describe, expect, it } from 'vitest';
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
  it('answers mockResult(input) after its latency', async () => {
    const model = createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 });
    await expect(model.predict('hello', { signal: new AbortController().signal })).resolves.toBe(mockResult('hello'));
  });

  it('waits without blocking the event loop', async () => {
    const model = createMockModel({ minLatencyMs: 200, maxLatencyMs: 200 });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    await model.predict('x', { signal: new AbortController().signal });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('rejects at once with the reason when its signal is aborted', async () => {
    const model = createMockModel({ minLatencyMs: 60_000, maxLatencyMs: 60_000 });
    const controller = new AbortController();
    const prediction = model.predict('x', { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(prediction).rejects.toThrow();
    const already = new AbortController();
    already.abort();
    await expect(model.predict('x', { signal: already.signal })).rejects.toThrow();
  });

  it('refuses an upside-down latency range', () => {
    expect(() => createMockModel({ minLatencyMs: 5, maxLatencyMs: 1 })).toThrow(RangeError);
    expect(() => createMockModel({ minLatencyMs: -1, maxLatencyMs: 1 })).toThrow(RangeError);
  });
});
