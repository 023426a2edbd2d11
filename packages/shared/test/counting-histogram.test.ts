import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CountingHistogram } from '../src/metrics/counting-histogram.js';
import { parseMetrics } from '../../../test/support/metrics-text.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// Values on, between, below and above the bounds.
const OBSERVED: [route: string, value: number][] = [
  ['/a', 0.0005],
  ['/a', 0.001],
  ['/a', 0.0011],
  ['/a', 0.1],
  ['/a', 7],
  ['/b', 1],
  ['/b', 0.02],
];

describe('CountingHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counting = new CountingHistogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets: BUCKETS,
      registers: [ours],
    });
    const reference = new Histogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const series = new Map(['/a', '/b'].map((route) => [route, counting.series({ route })]));
    for (const [route, value] of OBSERVED) {
      series.get(route)?.(value);
      reference.observe({ route }, value);
    }
    const [a, b] = [parseMetrics(await ours.metrics()), parseMetrics(await theirs.metrics())];
    expect(a.family('d_seconds')?.type).toBe('HISTOGRAM');
    for (const route of ['/a', '/b']) {
      for (const le of ['0.001', '0.01', '0.1', '1', '+Inf']) {
        expect(a.value('d_seconds_bucket', { route, le }), `${route} le=${le}`).toBe(
          b.value('d_seconds_bucket', { route, le }),
        );
      }
      expect(a.count('d_seconds', { route })).toBe(b.count('d_seconds', { route }));
      expect(a.value('d_seconds_sum', { route })).toBeCloseTo(b.value('d_seconds_sum', { route }) ?? Number.NaN, 9);
    }
    // A value on a bound is in that bucket (le: less than or equal).
    expect(a.value('d_seconds_bucket', { route: '/a', le: '0.001' })).toBe(2);
    expect(a.count('d_seconds', { route: '/a' })).toBe(5);
  });

  it('shows nothing until a series is made, and a made series from 0', async () => {
    const registry = new Registry();
    const counting = new CountingHistogram({ name: 'e_seconds', help: 'h', buckets: BUCKETS, registers: [registry] });
    expect(parseMetrics(await registry.metrics()).count('e_seconds')).toBe(0);
    counting.series({});
    const scrape = parseMetrics(await registry.metrics());
    expect([scrape.count('e_seconds'), scrape.value('e_seconds_bucket', { le: '+Inf' })]).toEqual([0, 0]);
  });
});
