import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Named in the error when the deadline passes. */
  readonly what?: string;
  /** Called before each attempt; what it throws ends the wait at once (e.g. a process that died). */
  readonly unless?: () => void;
}

/** Polls `condition` until it returns a truthy value, which it resolves with, or fails at the deadline. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition', unless }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    unless?.();
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
