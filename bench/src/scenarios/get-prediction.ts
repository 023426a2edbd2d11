import { withBareRoute } from '../baselines/baselines.js';
import { measurePaired, timingOf } from '../load.js';
import type { Scenario } from '../scenario.js';
import { withFinishedJobs } from './finished-jobs.js';

/**
 * GET /predict/{id} of finished jobs, each connection polling its own id, no
 * consumer running; interleaved with the bare route's POST.
 */
export const getPrediction: Scenario = {
  name: 'get',
  summary: 'GET /predict/{id} of a finished job, vs the bare Fastify route',
  async run(context) {
    const { settings } = context;
    context.log(`GET /predict/{id}: finishing ${settings.finishedJobs} jobs first`);
    return withFinishedJobs(context, 'get', async (api, ids) =>
      withBareRoute(context, 'get', async (bare) => {
        context.log('GET /predict/{id}, interleaved with the bare route');
        const { baseline, subject } = await measurePaired(
          bare.load,
          {
            url: api.url,
            connections: settings.connections,
            method: 'GET',
            path: `/predict/${ids[0]}`,
            expectStatus: 200,
            pathForConnection: (index) => `/predict/${ids[index % ids.length]}`,
            ...(api.process.pid !== undefined && { serverPid: api.process.pid }),
          },
          timingOf(settings),
        );
        return [
          {
            id: 'get.rps',
            label: 'GET /predict/{id}, finished job',
            unit: 'req/s',
            value: subject.rps,
            baseline: baseline.rps,
            baselineLabel: 'bare route',
            target: { kind: 'ratio-at-least', ratio: 0.6 },
          },
          {
            id: 'get.p99',
            label: 'GET /predict/{id}, p99 latency',
            unit: 'ms',
            value: subject.p99,
            baseline: baseline.p99,
            baselineLabel: 'bare route',
            target: { kind: 'none' },
          },
          {
            id: 'get.cpu-per-request',
            label: 'GET /predict/{id}, API CPU per request',
            unit: 'µs',
            value: subject.cpuPerRequestUs,
            baseline: baseline.cpuPerRequestUs,
            baselineLabel: 'bare route',
            target: { kind: 'none' },
          },
        ];
      }),
    );
  },
};
