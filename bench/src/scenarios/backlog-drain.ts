import { redisKeys } from '@foretell/shared';
import { startConsumer } from '../apps.js';
import { assertAllSucceeded, completionRate, fillBacklog, readJobs, waitForEmptyStream } from '../jobs.js';
import { INPUT } from '../load.js';
import { cpuSeconds } from '../processes.js';
import type { Scenario } from '../scenario.js';
import { BYTES_PER_MB } from './targets.js';

/** The consumer's batch: the raw loop reads 500 at a time, so the consumer may hold as many. */
const CONCURRENCY = 500;

/**
 * One consumer draining a backlog queued the way the API queues it, against
 * the raw loop draining an identical one right before and right after (the
 * baseline is the mean of the two: load on a shared machine drifts). All
 * rates come from the finish times the consumers wrote (first to last
 * completion).
 */
export const backlogDrain: Scenario = {
  name: 'backlog',
  summary: 'one consumer draining a backlog, vs the raw XREADGROUP/HSET/XACK loop',
  async run(context) {
    const before = await context.baselines.measureRawConsumer();
    const { settings, redis } = context;
    const keys = redisKeys('bench-backlog');
    context.log(`backlog: filling ${settings.backlogJobs} jobs`);
    const ids = await fillBacklog(redis.client, keys, settings.backlogJobs, INPUT);
    context.log('backlog: one consumer draining it');
    const redisCpuBefore = cpuSeconds(redis.pid);
    const consumer = await startConsumer(context, {
      label: 'backlog',
      prefix: 'bench-backlog',
      env: { CONSUMER_CONCURRENCY: String(CONCURRENCY) },
    });
    let rss: number;
    let cpuS: number;
    let redisCpuS: number;
    try {
      await waitForEmptyStream(redis.client, keys, 60_000 + settings.backlogJobs, () => consumer.assertAlive());
      rss = consumer.rss();
      cpuS = cpuSeconds(consumer.pid);
      redisCpuS = cpuSeconds(redis.pid) - redisCpuBefore;
    } finally {
      await consumer.stop();
    }
    const states = await readJobs(redis.client, keys, ids);
    assertAllSucceeded(states, 'backlog');
    await redis.client.flushall();
    const after = await context.baselines.measureRawConsumer();
    const raw = {
      jobsPerSecond: (before.jobsPerSecond + after.jobsPerSecond) / 2,
      cpuPerJobUs: (before.cpuPerJobUs + after.cpuPerJobUs) / 2,
      redisCpuPerJobUs: (before.redisCpuPerJobUs + after.redisCpuPerJobUs) / 2,
      rssBytes: Math.max(before.rssBytes, after.rssBytes),
    };
    return [
      {
        id: 'backlog.jobs-per-second',
        label: `one consumer draining ${settings.backlogJobs} jobs`,
        unit: 'jobs/s',
        value: completionRate(states),
        baseline: raw.jobsPerSecond,
        baselineLabel: 'raw consumer loop',
        target: { kind: 'ratio-at-least', ratio: 0.75 },
        notes: [
          `backlog: CONSUMER_CONCURRENCY=${CONCURRENCY}; the raw loop reads COUNT 500 and is timed before and after ` +
            'the consumer (baseline: the mean)',
        ],
      },
      {
        id: 'backlog.cpu-per-job',
        label: 'consumer CPU per job (from its start)',
        unit: 'µs',
        value: (cpuS * 1e6) / ids.length,
        baseline: raw.cpuPerJobUs,
        baselineLabel: 'raw consumer loop',
        target: { kind: 'none' },
      },
      {
        id: 'backlog.redis-cpu-per-job',
        label: 'redis-server CPU per job, backlog',
        unit: 'µs',
        value: (redisCpuS * 1e6) / ids.length,
        baseline: raw.redisCpuPerJobUs,
        baselineLabel: 'raw consumer loop',
        target: { kind: 'none' },
      },
      {
        id: 'backlog.consumer-rss',
        label: 'consumer RSS after the backlog',
        unit: 'MB',
        value: rss / BYTES_PER_MB,
        baseline: raw.rssBytes / BYTES_PER_MB,
        baselineLabel: 'raw loop process',
        target: { kind: 'none' },
      },
    ];
  },
};
