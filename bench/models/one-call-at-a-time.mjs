// The bench's batch model, as one GPU is: a call costs BENCH_CALL_MS (default
// 20) whatever its batch size, and calls run one at a time (the next waits
// for the one before). It waits rather than computes, so the batching figure
// measures the gathering, not the machine's cores.
export function createModel({ env }) {
  const costMs = Number(env.BENCH_CALL_MS ?? '20');
  let previous = Promise.resolve();
  return {
    name: 'bench-one-call-at-a-time',
    version: '1.0.0',
    predictBatch(inputs) {
      const call = previous.then(
        () => new Promise((resolve) => setTimeout(() => resolve(inputs.map((input) => `${input.length}`)), costMs)),
      );
      previous = call.then(
        () => undefined,
        () => undefined,
      );
      return call;
    },
  };
}
