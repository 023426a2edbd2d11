import { startApi } from '../apps.js';
import { withBareRoute } from '../baselines/baselines.js';
import { measurePaired, timingOf } from '../load.js';
import type { Scenario } from '../scenario.js';
import { API_RSS_LIMIT_MB, BYTES_PER_MB } from './targets.js';

/** Sync POST /predict (model latency 0), interleaved with the bare Fastify route. */
export const syncPredict: Scenario = {
  name: 'sync',
  summary: 'sync POST /predict, model latency 0, vs the bare Fastify route',
  async run(context) {
    const { settings } = context;
    context.log('sync POST /predict, interleaved with the bare route');
    return withBareRoute(context, 'sync', async (bare) => {
      const api = await startApi(context, { label: 'sync', prefix: 'bench-sync' });
      try {
        const { baseline, subject } = await measurePaired(
          bare.load,
          { ...bare.load, url: api.url, ...(api.process.pid !== undefined && { serverPid: api.process.pid }) },
          timingOf(settings),
        );
        const rss = api.process.rss();
        const bareRss = bare.process.rss();
        return [
          {
            id: 'sync.rps',
            label: 'sync POST /predict',
            unit: 'req/s',
            value: subject.rps,
            baseline: baseline.rps,
            baselineLabel: 'bare route',
            target: { kind: 'ratio-at-least', ratio: 0.85 },
          },
          {
            id: 'sync.p99',
            label: 'sync POST /predict, p99 latency',
            unit: 'ms',
            value: subject.p99,
            baseline: baseline.p99,
            baselineLabel: 'bare route',
            target: { kind: 'ratio-at-most', ratio: 2 },
          },
          {
            id: 'sync.cpu-per-request',
            label: 'sync POST /predict, API CPU per request',
            unit: 'µs',
            value: subject.cpuPerRequestUs,
            baseline: baseline.cpuPerRequestUs,
            baselineLabel: 'bare route',
            target: { kind: 'none' },
          },
          {
            id: 'sync.api-rss',
            label: 'API RSS after the sync run',
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
