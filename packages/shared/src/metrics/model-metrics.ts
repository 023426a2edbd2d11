import type { Registry } from 'prom-client';
import { CountingHistogram } from './counting-histogram.js';
import type { Model } from '../model.js';
import { METRICS } from './metric-names.js';

// From a millisecond (a cheap model, the mock at latency 0) to the mock's 17 s default, in roughly ×2.5 steps.
const MODEL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60];

/**
 * `foretell_model_duration_seconds`, and the function that counts one call
 * of the model into it: for a caller that already awaits the model (the
 * API's sync path) and so can time it without another promise around it.
 */
export function modelDurationMetric(registry: Registry): (seconds: number) => void {
  return new CountingHistogram({
    name: METRICS.modelDuration,
    help: 'Time from a call of the model to its answer or error, per input, in seconds.',
    buckets: MODEL_BUCKETS,
    registers: [registry],
  }).series({});
}

/**
 * The model, each call timed into `foretell_model_duration_seconds`: from
 * the call to its answer or error, as the app waits for it (a batch being
 * gathered and a wait for a free thread included).
 */
export function timedModel(model: Model, registry: Registry): Model {
  const observe = modelDurationMetric(registry);
  return {
    ...model,
    async predict(input, options) {
      const start = performance.now();
      try {
        return await model.predict(input, options);
      } finally {
        observe((performance.now() - start) / 1000);
      }
    },
  };
}
