import { describe, expect, it } from 'vitest';
import { meets, median, ratio, summarise, type Figure } from '../src/stats.js';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two, ignoring non-numbers', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, Number.NaN])).toBe(5);
    expect(median([])).toBeNaN();
  });
});

describe('ratio', () => {
  it('is NaN without a positive baseline', () => {
    expect(ratio(50, 100)).toBe(0.5);
    expect(ratio(50, 0)).toBeNaN();
  });
});

describe('meets', () => {
  it('judges each kind of target', () => {
    expect(meets({ kind: 'ratio-at-least', ratio: 0.85 }, 0, 0, 0.85)).toBe(true);
    expect(meets({ kind: 'ratio-at-least', ratio: 0.85 }, 0, 0, 0.84)).toBe(false);
    expect(meets({ kind: 'ratio-at-most', ratio: 2 }, 0, 0, 2.1)).toBe(false);
    expect(meets({ kind: 'at-most', limit: 200 }, 200, 0, 0)).toBe(true);
    expect(meets({ kind: 'linear-at-most', slope: 2, intercept: 150 }, 224, 37, 0)).toBe(true);
    expect(meets({ kind: 'linear-at-most', slope: 2, intercept: 150 }, 225, 37, 0)).toBe(false);
    expect(meets({ kind: 'none' }, 1, 1, 1)).toBeUndefined();
  });
});

describe('summarise', () => {
  const figure = (value: number, baseline: number): Figure => ({
    id: 'sync.rps',
    label: 'sync',
    unit: 'req/s',
    value,
    baseline,
    baselineLabel: 'bare route',
    target: { kind: 'ratio-at-least', ratio: 0.85 },
  });

  it('reports medians and judges the median of the per-run ratios', () => {
    // Per-run ratios 0.9, 0.5, 0.95: their median (0.9), not median value over median baseline (0.95).
    const [summary] = summarise([figure(90, 100), figure(100, 200), figure(95, 100)]);
    expect(summary).toMatchObject({ value: 95, baseline: 100, ratio: 0.9, pass: true });
    expect(summary?.runs).toHaveLength(3);
  });
});
