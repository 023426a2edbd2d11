// Figures the issue sets; each scenario states its targets with these.
export const BYTES_PER_MB = 1_000_000;
export const API_RSS_LIMIT_MB = 200;
export const CONSUMER_RSS_LIMIT_MB = 256;
/** Slow-model scenario: every job done this long after the last 202. */
export const SLOW_MODEL_LAG_LIMIT_MS = 2500;
