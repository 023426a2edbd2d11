import { describe, expect, it } from 'vitest';
import { textTable } from '../src/report.js';
import { meets, median, ratio, summarise, type Figure, type Summary } from '../src/stats.js';

const figure = (value: number, baseline: number): Figure => ({
  id: 'sync.rps',
  label: 'sync',
  unit: 'req/s',
  value,
  baseline,
  baselineLabel: 'bare route',
  target: { kind: 'ratio-at-least', ratio: 0.85 },
});

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
  it('reports medians and judges the median of the per-run ratios', () => {
    // Per-run ratios 0.9, 0.5, 0.95: their median (0.9), not median value over median baseline (0.95).
    const [summary] = summarise([figure(90, 100), figure(100, 200), figure(95, 100)]);
    expect(summary).toMatchObject({ value: 95, baseline: 100, ratio: 0.9, verdict: 'pass' });
    expect(summary?.runs).toHaveLength(3);
  });

  it('fails a missed target, and a figure without a number', () => {
    expect(summarise([figure(50, 100)])[0]?.verdict).toBe('fail');
    expect(summarise([figure(Number.NaN, 100)])[0]?.verdict).toBe('fail');
    expect(summarise([{ ...figure(50, 100), target: { kind: 'none' } }])[0]?.verdict).toBe('no target');
  });

  it('in smoke mode, judges only the figures whose target holds at that scale', () => {
    const [notJudged] = summarise([figure(50, 100)], { smoke: true });
    expect(notJudged?.verdict).toBe('not measured (smoke)');
    expect(summarise([{ ...figure(50, 100), judgedInSmoke: true }], { smoke: true })[0]?.verdict).toBe('fail');
    expect(summarise([{ ...figure(90, 100), judgedInSmoke: true }], { smoke: true })[0]?.verdict).toBe('pass');
    expect(summarise([{ ...figure(50, 100), target: { kind: 'none' } }], { smoke: true })[0]?.verdict).toBe(
      'no target',
    );
  });
});

describe('textTable', () => {
  it('prints a missed target as FAIL, and one a smoke run cannot measure as such', () => {
    const row = (summary: Summary | undefined) =>
      textTable(summary ? [summary] : [])
        .split('\n')
        .at(-1);
    expect(row(summarise([figure(50, 100)])[0])).toMatch(/ FAIL$/);
    expect(row(summarise([figure(50, 100)], { smoke: true })[0])).toMatch(/ not measured \(smoke\)$/);
  });
});
