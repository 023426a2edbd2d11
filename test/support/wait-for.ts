// One waitFor for the tests and the bench: polls a condition with a deadline, never a fixed sleep.
import { waitFor as pollUntil, type WaitForOptions } from '../../bench/src/wait-for.js';

export type { WaitForOptions };

/**
 * The tests' default deadline. A deadline, not a wait: a passing test never
 * reaches it, so it is set for a loaded two-core machine, not a quiet one.
 */
export const TEST_DEADLINE_MS = 60_000;

/** The bench's waitFor with the tests' default deadline. */
export function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  return pollUntil(condition, { timeoutMs: TEST_DEADLINE_MS, ...options });
}
