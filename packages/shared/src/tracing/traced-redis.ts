import type { Tracing } from './tracing.js';

/**
 * `call` wrapped in a Redis client span when tracing is on, `call` itself when
 * it is off: wrapped once where the call is defined, the off path costs nothing per call.
 */
export function tracedRedis<A extends unknown[], R>(
  tracing: Tracing | undefined,
  command: string,
  script: string | undefined,
  call: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (!tracing) return call;
  return (...args) => tracing.redisCall(command, script, () => call(...args));
}
