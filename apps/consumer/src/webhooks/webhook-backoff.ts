import { retryDelayMs, type RetryPolicy } from '../retry-policy.js';

/** The first retry of a webhook comes 0.5–1 s after the failure: a receiver's blip is over by then. */
export const WEBHOOK_RETRY_BASE_DELAY_MS = 1_000;
/** Doubling stops here: a receiver down for hours is retried every 5–10 minutes, not every few hours. */
export const WEBHOOK_RETRY_MAX_DELAY_MS = 10 * 60_000;
/** A receiver's Retry-After is honoured up to an hour: a larger one would hold the delivery past any use. */
export const WEBHOOK_MAX_RETRY_AFTER_MS = 60 * 60_000;

// Webhooks back off as jobs do (retryDelayMs: exponential, equal jitter), on
// their own scale. retryDelayMs reads no maxAttempts; the number of webhook
// attempts is WEBHOOK_MAX_ATTEMPTS, counted by the caller.
const WEBHOOK_BACKOFF: RetryPolicy = {
  maxAttempts: Number.POSITIVE_INFINITY,
  baseDelayMs: WEBHOOK_RETRY_BASE_DELAY_MS,
  maxDelayMs: WEBHOOK_RETRY_MAX_DELAY_MS,
};

const DELTA_SECONDS = /^\d+$/;
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must still accept.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850_DATE = /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** An HTTP-date's time in ms, or NaN; Date.parse alone would take "7" or "May 5" for dates. */
function httpDateMs(text: string): number {
  if (IMF_FIXDATE.test(text) || RFC_850_DATE.test(text)) return Date.parse(text);
  // asctime carries no zone, and is UTC; Date.parse would read it as local time.
  if (ASCTIME_DATE.test(text)) return Date.parse(`${text} GMT`);
  return Number.NaN;
}

/**
 * A Retry-After header as a delay in ms from `now`: delta-seconds or an
 * HTTP-date, at most WEBHOOK_MAX_RETRY_AFTER_MS. A date already past is 0.
 * Anything else (absent, negative, fractional, not a date) is undefined: the
 * backoff alone decides.
 */
export function parseRetryAfter(header: string | undefined, now: Date | number): number | undefined {
  const text = header?.trim();
  if (text === undefined || text === '') return undefined;
  let delayMs: number;
  if (DELTA_SECONDS.test(text)) delayMs = Number(text) * 1000;
  else {
    const at = httpDateMs(text);
    if (Number.isNaN(at)) return undefined;
    delayMs = Math.max(0, at - Number(now));
  }
  return Math.min(delayMs, WEBHOOK_MAX_RETRY_AFTER_MS);
}

/**
 * The delay before the delivery attempt after `attempt` (the first is 1):
 * exponential from WEBHOOK_RETRY_BASE_DELAY_MS, capped at
 * WEBHOOK_RETRY_MAX_DELAY_MS, with equal jitter, so deliveries that failed
 * together do not come back together. A receiver's Retry-After wins when it
 * asks for longer, up to WEBHOOK_MAX_RETRY_AFTER_MS.
 */
export function webhookRetryDelayMs(
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const backoff = retryDelayMs(attempt, WEBHOOK_BACKOFF, random);
  if (retryAfterMs === undefined || !(retryAfterMs > backoff)) return backoff;
  return Math.min(retryAfterMs, WEBHOOK_MAX_RETRY_AFTER_MS);
}
