import { availableParallelism } from 'node:os';
import type { RunningApi } from '../apps.js';
import { measurePaired, runLength, runLoad, timingOf, type LoadSpec, type PairedTiming } from '../load.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import type { Figure } from '../stats.js';
import { benchModel, syncLoad, withModelApi } from './model-api.js';

const CPU_BOUND_MODEL = benchModel('cpu-bound.mjs');
// Long enough per call that the model, not HTTP, is what the threads spend their time on.
const CPU_MS = '5';
// A few calls waiting per thread: no thread idles between two.
const CONNECTIONS = 8;

function healthLoad(api: RunningApi, timing: PairedTiming): LoadSpec {
  return { url: api.url, connections: 1, path: '/health', expectStatus: 200, ...runLength(timing) };
}

const withApi = <T>(context: ScenarioContext, workers: string, use: (api: RunningApi) => Promise<T>) =>
  withModelApi(
    context,
    `workers-${workers}`,
    {
      MODEL_MODULE: CPU_BOUND_MODEL,
      MODEL_WORKERS: workers,
      // A smoke run checks that the scenario reports, on a machine busy with the other
      // tests: two threads spinning for a second there could starve every answer.
      BENCH_CPU_MS: context.settings.smoke ? '0' : CPU_MS,
    },
    use,
  );

/** Sync POST /predict at this scenario's connections. */
const load = (api: RunningApi) => syncLoad(api, CONNECTIONS);

/** The API's event-loop delay p99 (prom-client's gauge, in ms), since its previous scrape: prom-client resets it at each. */
async function eventLoopDelayP99Ms(api: RunningApi): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error('the API exports no nodejs_eventloop_lag_p99_seconds');
  return Number(value) * 1000;
}

/** The API's event-loop delay p99 while `api` serves a sync load run of `timing`. */
async function eventLoopDelayUnderLoad(api: RunningApi, timing: PairedTiming): Promise<number> {
  await eventLoopDelayP99Ms(api);
  await runLoad({ ...load(api), ...runLength(timing) });
  return eventLoopDelayP99Ms(api);
}

/**
 * A CPU-bound model (5 ms of computation per call) served sync by 2 and
 * `auto` worker threads, each against 1 thread in the same run: throughput
 * grows with the threads up to the cores. And the API's /health latency
 * while every thread computes: its event loop stays free.
 */
export const modelWorkers: Scenario = {
  name: 'workers',
  summary:
    'CPU-bound model (5 ms a call), sync, 2 and auto worker threads vs 1; /health p99 and the event-loop delay meanwhile',
  async run(context) {
    const { settings } = context;
    const timing = timingOf(settings);
    const cores = availableParallelism();
    const figures: Figure[] = [];
    await withApi(context, '1', (one) =>
      withApi(context, '2', async (two) => {
        context.log('workers: CPU-bound model, 2 threads vs 1');
        const { baseline, subject } = await measurePaired(load(one), load(two), timing);
        figures.push({
          id: 'workers.rps-2',
          label: 'CPU-bound model, sync, 2 worker threads',
          unit: 'req/s',
          value: subject.rps,
          baseline: baseline.rps,
          baselineLabel: '1 worker thread',
          target: cores >= 2 ? { kind: 'ratio-at-least', ratio: 1.5 } : { kind: 'none' },
          notes: [`workers: ${cores} cores; ${CPU_MS} ms of computation per call, ${CONNECTIONS} connections`],
        });

        context.log('workers: /health while both threads compute');
        const quiet = await runLoad(healthLoad(two, { ...timing, durationS: 1 }));
        const [, busy] = await Promise.all([
          runLoad({ ...load(two), ...runLength(timing) }),
          runLoad(healthLoad(two, timing)),
        ]);
        figures.push({
          id: 'workers.health-p99',
          label: 'GET /health p99 while 2 threads compute',
          unit: 'ms',
          value: busy.p99,
          // autocannon counts latency in whole milliseconds: a quiet /health can read 0, and a ratio needs a baseline above it.
          baseline: Math.max(quiet.p99, 1),
          baselineLabel: '/health with nothing computing (at least 1 ms, the resolution)',
          target: { kind: 'at-most', limit: 20 },
        });

        context.log("workers: the API's event-loop delay, 2 threads vs the model in the process");
        const threaded = await eventLoopDelayUnderLoad(two, timing);
        const inProcess = await withApi(context, '0', (api) => eventLoopDelayUnderLoad(api, timing));
        figures.push({
          id: 'workers.event-loop-p99',
          label: 'API event-loop delay p99, sync load, 2 worker threads',
          unit: 'ms',
          value: threaded,
          baseline: inProcess,
          baselineLabel: 'the model in the process (MODEL_WORKERS=0)',
          target: { kind: 'none' },
          notes: [
            "workers: event-loop delay from the API's nodejs_eventloop_lag_p99_seconds (prom-client, 10 ms sampling, included)",
          ],
        });
      }),
    );
    // A smoke run checks that the scenario reports: `auto` is the same code with another count.
    if (settings.smoke) return figures;
    await withApi(context, '1', (one) =>
      withApi(context, 'auto', async (auto) => {
        context.log(`workers: CPU-bound model, auto (${cores}) threads vs 1`);
        const { baseline, subject } = await measurePaired(load(one), load(auto), timing);
        figures.push({
          id: 'workers.rps-auto',
          label: `CPU-bound model, sync, auto (${cores}) worker threads`,
          unit: 'req/s',
          value: subject.rps,
          baseline: baseline.rps,
          baselineLabel: '1 worker thread',
          target: cores >= 2 ? { kind: 'ratio-at-least', ratio: 1.5 } : { kind: 'none' },
        });
      }),
    );
    return figures;
  },
};
