// The bench's CPU-bound model: every call computes for BENCH_CPU_MS
// milliseconds (default 5) without yielding, as a tokenizer and a classifier
// on the CPU would. Run in the process it blocks the event loop; with
// MODEL_WORKERS each call holds one thread.
import { performance } from 'node:perf_hooks';

export function createModel({ env }) {
  const costMs = Number(env.BENCH_CPU_MS ?? '5');
  return {
    name: 'bench-cpu-bound',
    version: '1.0.0',
    async predict(input) {
      const until = performance.now() + costMs;
      let spins = 0;
      while (performance.now() < until) spins += 1;
      return `${input.length}:${spins > 0 ? 1 : 0}`;
    },
  };
}
