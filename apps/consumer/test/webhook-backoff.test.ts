import { describe, expect, it } from 'vitest';
import {
  parseRetryAfter,
  WEBHOOK_MAX_RETRY_AFTER_MS,
  WEBHOOK_RETRY_BASE_DELAY_MS,
  WEBHOOK_RETRY_MAX_DELAY_MS,
  webhookRetryDelayMs,
} from '../src/webhooks/webhook-backoff.js';

const NOW = Date.parse('2026-12-02T16:00:00Z');

describe('parseRetryAfter', () => {
  it.each<[string, number]>([
    ['0', 0],
    ['7', 7_000],
    [' 120 ', 120_000],
    ['3600', WEBHOOK_MAX_RETRY_AFTER_MS],
    ['3601', WEBHOOK_MAX_RETRY_AFTER_MS],
    ['99999999999999999999', WEBHOOK_MAX_RETRY_AFTER_MS],
    // The three HTTP-date forms (RFC 9110 §5.6.7), 90 s after NOW.
    ['Wed, 02 Dec 2026 16:01:30 GMT', 90_000],
    ['Wednesday, 02-Dec-26 16:01:30 GMT', 90_000],
    ['Wed Dec  2 16:01:30 2026', 90_000],
    // A date already past means now.
    ['Tue, 01 Dec 2026 16:00:00 GMT', 0],
    // A date far ahead is capped.
    ['Fri, 01 Jan 2027 00:00:00 GMT', WEBHOOK_MAX_RETRY_AFTER_MS],
  ])('reads %j as %i ms', (header, delayMs) => {
    expect(parseRetryAfter(header, NOW)).toBe(delayMs);
  });

  it.each([[undefined], [''], ['  '], ['-5'], ['1.5'], ['7s'], ['soon'], ['May 5'], ['2026-12-02T16:01:30Z'], ['NaN']])(
    'ignores %j',
    (header) => {
      expect(parseRetryAfter(header, NOW)).toBeUndefined();
    },
  );

  it('takes now as a Date too', () => {
    expect(parseRetryAfter('Wed, 02 Dec 2026 16:00:10 GMT', new Date(NOW))).toBe(10_000);
  });
});

describe('webhookRetryDelayMs', () => {
  const lowest = () => 0;
  const highest = () => 0.999999;

  it('doubles from the base delay up to its cap, with the jitter at either end', () => {
    const floors = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 100].map((attempt) =>
      webhookRetryDelayMs(attempt, undefined, lowest),
    );
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 100].map((attempt) =>
      webhookRetryDelayMs(attempt, undefined, highest),
    );
    expect(floors.slice(0, 4)).toEqual([500, 1_000, 2_000, 4_000]);
    expect(ceilings.slice(0, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    for (const series of [floors, ceilings]) {
      for (let i = 1; i < series.length; i++) expect(series[i]).toBeGreaterThanOrEqual(series[i - 1] ?? 0);
    }
    expect(ceilings.at(-1)).toBe(WEBHOOK_RETRY_MAX_DELAY_MS);
    expect(floors.at(-1)).toBe(WEBHOOK_RETRY_MAX_DELAY_MS / 2);
  });

  it('stays within [half, all] of the exponential ceiling with real randomness', () => {
    for (let attempt = 1; attempt <= 15; attempt++) {
      const ceiling = Math.min(WEBHOOK_RETRY_MAX_DELAY_MS, WEBHOOK_RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
      for (let draw = 0; draw < 50; draw++) {
        const delay = webhookRetryDelayMs(attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("waits as long as the receiver's Retry-After when that is longer than the backoff", () => {
    expect(webhookRetryDelayMs(1, 7_000, highest)).toBe(7_000);
    expect(webhookRetryDelayMs(20, 30 * 60_000, highest)).toBe(30 * 60_000);
  });

  it('keeps the backoff when Retry-After is shorter, zero or not a number', () => {
    expect(webhookRetryDelayMs(4, 1_000, lowest)).toBe(4_000);
    expect(webhookRetryDelayMs(1, 0, lowest)).toBe(500);
    expect(webhookRetryDelayMs(1, -5_000, lowest)).toBe(500);
    expect(webhookRetryDelayMs(1, Number.NaN, lowest)).toBe(500);
  });

  it('caps Retry-After at WEBHOOK_MAX_RETRY_AFTER_MS', () => {
    expect(webhookRetryDelayMs(1, 24 * 3600_000, lowest)).toBe(WEBHOOK_MAX_RETRY_AFTER_MS);
    expect(webhookRetryDelayMs(1, Number.POSITIVE_INFINITY, lowest)).toBe(WEBHOOK_MAX_RETRY_AFTER_MS);
  });
});
