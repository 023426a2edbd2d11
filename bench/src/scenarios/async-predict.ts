import { startApi } from '../apps.js';
import { withBareRoute } from '../baselines/baselines.js';
import { ASYNC_HEADERS, measurePaired, timingOf } from '../load.js';
import type { Scenario } from '../scenario.js';
import { API_RSS_LIMIT_MB, BYTES_PER_MB } from './targets.js';

/**
 * Async POST /predict, interleaved with the bare Fastify route: each 202
 * means the job (hash and stream entry) is in Redis. No consumer runs, so the
 * API is measured alone; afterwards the stream must hold an entry per 202.
 */
export const asyncPredict: Scenario = {
  name: 'async',
  summary: 'async POST /predict (job in Redis before the 202), no consumer, vs the bare Fastify route',
  async run(context) {
    const { settings, redis } = context;
    context.log('async POST /predict, interleaved with the bare route');
    return withBareRoute(context, 'async', async (bare) => {
      const api = await startApi(context, { label: 'async', prefix: 'bench-async' });
      try {
        const { baseline, subject, subjectExpectedInAll } = await measurePaired(
          bare.load,
          {
            ...bare.load,
            url: api.url,
            ...(api.process.pid !== undefined && { serverPid: api.process.pid }),
            headers: ASYNC_HEADERS,
            expectStatus: 202,
          },
          timingOf(settings),
        );
        const rss = api.process.rss();
        const bareRss = bare.process.rss();
        // Every 202 counted must have its entry; requests still in flight when a
        // round's time is up may have been queued without their 202 being counted.
        const queued = await redis.client.xlen(api.keys.jobs);
        const slack = settings.connections * (2 + settings.durationS);
        if (queued < subjectExpectedInAll || queued > subjectExpectedInAll + slack) {
          throw new Error(`${subjectExpectedInAll} jobs accepted, but ${queued} in the stream`);
        }
        return [
          {
            id: 'async.rps',
            label: 'async POST /predict',
            unit: 'req/s',
            value: subject.rps,
            baseline: baseline.rps,
            baselineLabel: 'bare route',
            target: { kind: 'ratio-at-least', ratio: 0.4 },
            notes: ['async: no consumer runs; after each run the stream holds an entry for every 202 counted'],
          },
          {
            id: 'async.p99',
            label: 'async POST /predict, p99 latency',
            unit: 'ms',
            value: subject.p99,
            baseline: baseline.p99,
            baselineLabel: 'bare route',
            target: { kind: 'none' },
          },
          {
            id: 'async.cpu-per-request',
            label: 'async POST /predict, API CPU per request',
            unit: 'µs',
            value: subject.cpuPerRequestUs,
            baseline: baseline.cpuPerRequestUs,
            baselineLabel: 'bare route',
            target: { kind: 'none' },
          },
          {
            id: 'async.api-rss',
            label: 'API RSS after the async run',
            unit: 'MB',
            value: rss / BYTES_PER_MB,
            baseline: bareRss / BYTES_PER_MB,
            baselineLabel: 'bare route process',
            target: { kind: 'at-most', limit: API_RSS_LIMIT_MB },
          },
        ];
      } finally {
        await api.process.stop();
      }
    });
  },
};
