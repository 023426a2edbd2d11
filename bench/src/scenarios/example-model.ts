import { redisKeys } from '@foretell/shared';
import { startConsumer } from '../apps.js';
import { assertAllSucceeded, completionRate, fillBacklog, readJobs, waitForEmptyStream } from '../jobs.js';
import { INPUT, measurePaired, timingOf } from '../load.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { syncLoad, withModelApi } from './model-api.js';

// The example model as the README runs it: `MODEL_MODULE=@foretell/sentiment-model MODEL_WORKERS=auto`.
const SENTIMENT = { MODEL_MODULE: '@foretell/sentiment-model', MODEL_WORKERS: 'auto' } as const;
const MOCK = {} as const;
// A review-sized text (70 characters): the model's cost grows with its length.
const TEXT = 'I love this movie, the acting is great, but the ending was a bit slow.';
/** The job's input as the API stores it for a model with schemas: JSON text. */
const SENTIMENT_INPUT = JSON.stringify({ text: TEXT });
const SENTIMENT_BODY = JSON.stringify({ input: { text: TEXT } });
const CONNECTIONS = 50;
/** Enough for every thread's batches to fill; the consumer caps it at the model's capacity. */
const CONCURRENCY = '500';

/** One consumer with `env`'s model draining `count` queued jobs of `input`: jobs per second, first to last finish. */
async function drainRate(
  context: ScenarioContext,
  label: string,
  env: Readonly<Record<string, string>>,
  count: number,
  input: string,
): Promise<number> {
  const { redis } = context;
  const prefix = `bench-${label}`;
  const keys = redisKeys(prefix);
  const ids = await fillBacklog(redis.client, keys, count, input);
  const consumer = await startConsumer(context, { label, prefix, env: { ...env, CONSUMER_CONCURRENCY: CONCURRENCY } });
  try {
    await waitForEmptyStream(redis.client, keys, 60_000 + count * 10, () => consumer.assertAlive());
  } finally {
    await consumer.stop();
  }
  const states = await readJobs(redis.client, keys, ids);
  assertAllSucceeded(states, label);
  await redis.client.flushall();
  return completionRate(states);
}

/**
 * The example model's speed on this machine, which the README reports: sync
 * requests a second at 50 connections and jobs a second drained by one
 * consumer, each next to the mock model (latency 0) in the same run, which
 * shows what the model's own work costs.
 */
export const exampleModel: Scenario = {
  name: 'sentiment',
  summary:
    'the example model (@foretell/sentiment-model, MODEL_WORKERS=auto): sync req/s and jobs/s, vs the mock model',
  async run(context) {
    const { settings } = context;
    context.log('sentiment: sync, the example model vs the mock model');
    const sync = await withModelApi(context, 'sentiment-mock', MOCK, (mock) =>
      withModelApi(
        context,
        'sentiment',
        SENTIMENT,
        (sentiment) =>
          measurePaired(
            syncLoad(mock, CONNECTIONS),
            syncLoad(sentiment, CONNECTIONS, SENTIMENT_BODY),
            timingOf(settings),
          ),
        SENTIMENT_BODY,
      ),
    );
    // A tenth of the backlog scenario's jobs (the model costs far more than the mock), but enough
    // for the mock's drain to span several finish calls (a rate needs two distinct finish times).
    const jobs = Math.max(2000, Math.round(settings.backlogJobs / 10));
    context.log(`sentiment: one consumer draining ${jobs} jobs, the mock model, then the example model`);
    const mockRate = await drainRate(context, 'sentiment-mock-drain', MOCK, jobs, INPUT);
    const sentimentRate = await drainRate(context, 'sentiment-drain', SENTIMENT, jobs, SENTIMENT_INPUT);
    const note = `sentiment: a ${TEXT.length}-character text, MODEL_WORKERS=auto, batches of up to 32`;
    return [
      {
        id: 'sentiment.sync-rps',
        label: 'example model, sync',
        unit: 'req/s',
        value: sync.subject.rps,
        baseline: sync.baseline.rps,
        baselineLabel: 'the mock model, latency 0',
        target: { kind: 'none' },
        notes: [`${note}; ${CONNECTIONS} connections`],
      },
      {
        id: 'sentiment.sync-p99',
        label: 'example model, sync, p99 latency',
        unit: 'ms',
        value: sync.subject.p99,
        baseline: sync.baseline.p99,
        baselineLabel: 'the mock model, latency 0',
        target: { kind: 'none' },
      },
      {
        id: 'sentiment.jobs-per-second',
        label: `example model, one consumer draining ${jobs} jobs`,
        unit: 'jobs/s',
        value: sentimentRate,
        baseline: mockRate,
        baselineLabel: 'the mock model, latency 0',
        target: { kind: 'none' },
        notes: [`sentiment: CONSUMER_CONCURRENCY=${CONCURRENCY}, capped by the model's capacity`],
      },
    ];
  },
};
