import { randomInt } from 'node:crypto';
import type { Model, PredictOptions } from './model.js';

export interface MockModelOptions {
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
}

// The assignment's model answered with an integer in 1000–20000.
const RESULT_MIN = 1000;
const RESULT_MAX = 20000;
const SECOND_MS = 1000;

/**
 * The result for an input: stable for the same input (sync and async answer
 * alike, retries are harmless) and spread over the assignment's range. FNV-1a
 * over the UTF-16 code units: a mock needs spread, not cryptography, and a
 * SHA-256 per request cost more than the rest of the mock together.
 */
export function mockResult(input: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < input.length; i += 1) {
    hash ^= input.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  const span = RESULT_MAX - RESULT_MIN + 1;
  return String(RESULT_MIN + ((hash >>> 0) % span));
}

/**
 * A latency drawn from [min, max]. When both bounds are whole seconds (the
 * default 10 000–17 000 ms) the draw is in whole seconds, as the assignment's
 * `sleep(randint(10, 17))` was; otherwise it is in whole milliseconds.
 */
export function drawLatencyMs({ minLatencyMs, maxLatencyMs }: MockModelOptions): number {
  if (maxLatencyMs <= minLatencyMs) return minLatencyMs;
  const step = minLatencyMs % SECOND_MS === 0 && maxLatencyMs % SECOND_MS === 0 ? SECOND_MS : 1;
  const steps = Math.floor((maxLatencyMs - minLatencyMs) / step);
  return minLatencyMs + randomInt(steps + 1) * step;
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it is
 * aborted (the Model contract), clearing its timer. `timers/promises` would
 * reject with a generic AbortError instead of the reason.
 */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The mock model's name and version, as the Foretell-Model-* headers carry them. */
export const MOCK_MODEL = { name: 'mock', version: '1.0.0' } as const;

/** The assignment's mock model: waits (never computes), then answers. */
export function createMockModel(options: MockModelOptions): Model {
  if (options.minLatencyMs < 0 || options.maxLatencyMs < options.minLatencyMs) {
    throw new RangeError('mock model latency must satisfy 0 <= min <= max');
  }
  return {
    ...MOCK_MODEL,
    async predict(input: string, call: PredictOptions): Promise<string> {
      const latencyMs = drawLatencyMs(options);
      // At latency 0 the answer is immediate: nothing to abort, and not reading the signal spares its creation.
      if (latencyMs > 0) await wait(latencyMs, call.signal);
      return mockResult(input);
    },
  };
}
