import type { ModelSettings } from '@foretell/shared';

/**
 * The example model as `MODEL_MODULE=@foretell/sentiment-model` loads it in
 * the process (no worker threads), batches up to 32: for tests that load it
 * with `loadModel` rather than through the apps' environment.
 */
export const SENTIMENT_MODEL_SETTINGS: ModelSettings = {
  MODEL_MODULE: '@foretell/sentiment-model',
  MODEL_MIN_LATENCY_MS: 0,
  MODEL_MAX_LATENCY_MS: 0,
  MODEL_MAX_BATCH_SIZE: 32,
  MODEL_MAX_BATCH_DELAY_MS: 0,
  MODEL_WORKERS: 0,
};
