export interface RetryPolicy {
  /** Attempts in all, the first included; a reclaim after a crash counts as one. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Delay before the attempt after `attempt`: exponential (base × 2^(attempt-1),
 * capped), with "equal jitter" — half fixed, half random — so that jobs that
 * failed together do not all come back together, yet none comes back at once.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
