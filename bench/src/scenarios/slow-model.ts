import { startApi, startConsumer } from '../apps.js';
import { assertAllSucceeded, readJobs, submitJobs, waitForEmptyStream } from '../jobs.js';
import { sampleRss } from '../processes.js';
import type { Scenario } from '../scenario.js';
import { BYTES_PER_MB, CONSUMER_RSS_LIMIT_MB, SLOW_MODEL_LAG_LIMIT_MS } from './targets.js';

/**
 * Many slow jobs at once: `slowJobs` async POSTs as fast as the API takes
 * them, a model that waits 1000–1700 ms, one consumer allowed to hold them
 * all. Measures how long after the last 202 the last job finished, and the
 * consumer's peak RSS.
 */
export const slowModel: Scenario = {
  name: 'slow-model',
  summary: 'many async jobs with a slow model (1000–1700 ms), one consumer: lag after the last 202, peak RSS',
  async run(context) {
    const raw = await context.baselines.rawConsumer();
    const { settings, redis } = context;
    const { min, max } = settings.slowLatencyMs;
    const latency = { MODEL_MIN_LATENCY_MS: String(min), MODEL_MAX_LATENCY_MS: String(max) };
    const prefix = 'bench-slow';
    context.log(`slow model: ${settings.slowJobs} jobs, model latency ${min}–${max} ms`);
    const api = await startApi(context, { label: 'slow-model', prefix, env: latency });
    try {
      const consumer = await startConsumer(context, {
        label: 'slow-model',
        prefix,
        // Every job may be in flight at once: the model waits, it does not compute.
        env: { ...latency, CONSUMER_CONCURRENCY: String(settings.slowJobs) },
      });
      const rss = sampleRss(consumer.pid);
      let peakRss: number;
      let submitted: Awaited<ReturnType<typeof submitJobs>>;
      try {
        submitted = await submitJobs(api.url, settings.slowJobs, settings.connections);
        await waitForEmptyStream(redis.client, api.keys, 60_000, () => consumer.assertAlive());
      } finally {
        peakRss = rss.stop();
        await consumer.stop();
      }
      const states = await readJobs(redis.client, api.keys, submitted.ids);
      assertAllSucceeded(states, 'slow model');
      const lastFinished = states.reduce((last, state) => Math.max(last, state.finished), 0);
      return [
        {
          id: 'slow-model.lag',
          label: `${settings.slowJobs} slow jobs: last finish after the last 202`,
          unit: 'ms',
          value: lastFinished - submitted.lastAcceptedAt,
          baseline: max,
          baselineLabel: 'longest model latency',
          target: { kind: 'at-most', limit: SLOW_MODEL_LAG_LIMIT_MS },
          notes: [`slow-model: CONSUMER_CONCURRENCY=${settings.slowJobs}, model latency ${min}–${max} ms`],
        },
        {
          id: 'slow-model.consumer-rss',
          label: 'consumer peak RSS, slow jobs',
          unit: 'MB',
          value: peakRss / BYTES_PER_MB,
          baseline: raw.rssBytes / BYTES_PER_MB,
          baselineLabel: 'raw loop process',
          target: { kind: 'at-most', limit: CONSUMER_RSS_LIMIT_MB },
        },
      ];
    } finally {
      await api.process.stop();
    }
  },
};
