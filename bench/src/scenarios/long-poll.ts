import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, startConsumer } from '../apps.js';
import { assertAllSucceeded, readJobs } from '../jobs.js';
import { ASYNC_HEADERS, JSON_HEADERS, PREDICT_BODY } from '../load.js';
import { cpuSeconds } from '../processes.js';
import type { Scenario } from '../scenario.js';

/** Longest wait a long-poll client asks for: far above the model's latency, so a job is one wait. */
const WAIT_SECONDS = 60;

interface ClientRun {
  /** The jobs' ids, where the client learnt one (a POST answered 200 names none). */
  readonly ids: (string | undefined)[];
  readonly requests: number;
  readonly cpuSeconds: number;
}

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text() };
}

function idOf(body: string): string {
  const { prediction_id: id } = JSON.parse(body) as { prediction_id?: unknown };
  if (typeof id !== 'string') throw new Error(`no prediction_id in ${body}`);
  return id;
}

/** Runs `jobs` clients at once, each getting one job's result its own way; counts requests and the API's CPU. */
async function measure(
  apiPid: number | undefined,
  jobs: number,
  client: (count: () => void) => Promise<string | undefined>,
): Promise<ClientRun> {
  let requests = 0;
  const before = cpuSeconds(apiPid);
  const ids = await Promise.all(Array.from({ length: jobs }, () => client(() => (requests += 1))));
  return { ids, requests, cpuSeconds: cpuSeconds(apiPid) - before };
}

/**
 * The same jobs (a slow model, one consumer that holds them all), their
 * results fetched two ways: polling (an async POST, then GET every
 * `pollIntervalMs` until 200, as the README's first example) and long-poll
 * (POST with `Prefer: respond-async, wait=60`, then `GET ?wait=60` if it
 * answered 202). Figures: requests and API CPU per finished job.
 */
export const longPoll: Scenario = {
  name: 'long-poll',
  summary: 'results of slow jobs by polling every second vs long-poll: requests and API CPU per finished job',
  async run(context) {
    const { settings, redis } = context;
    const { min, max } = settings.slowLatencyMs;
    const latency = { MODEL_MIN_LATENCY_MS: String(min), MODEL_MAX_LATENCY_MS: String(max) };
    // Each client holds a connection: a thousand, not slowJobs' tens of thousands.
    const jobs = settings.smoke ? 100 : 1000;
    // As often as the fastest job could be done: 1 s at full load, like the README's loop.
    const pollIntervalMs = min;
    const prefix = 'bench-long-poll';
    context.log(
      `long-poll: ${jobs} jobs polled every ${pollIntervalMs} ms vs waited for, model latency ${min}–${max} ms`,
    );
    const api = await startApi(context, {
      label: 'long-poll',
      prefix,
      env: { ...latency, MAX_CONNECTIONS: String(jobs * 4), MAX_WAITERS: String(jobs * 2) },
    });
    try {
      const consumer = await startConsumer(context, {
        label: 'long-poll',
        prefix,
        env: { ...latency, CONSUMER_CONCURRENCY: String(jobs) },
      });
      try {
        const pid = api.process.pid;
        const polling = await measure(pid, jobs, async (count) => {
          count();
          const id = idOf(
            (await request(`${api.url}/predict`, { method: 'POST', headers: ASYNC_HEADERS, body: PREDICT_BODY })).body,
          );
          for (;;) {
            // The client's own pace, not a wait for a condition: it is what is measured.
            await sleep(pollIntervalMs);
            count();
            const { status } = await request(`${api.url}/predict/${id}`);
            if (status === 200) return id;
            if (status !== 400) throw new Error(`polling ${id}: ${status}`);
          }
        });
        const waiting = await measure(pid, jobs, async (count) => {
          count();
          const posted = await request(`${api.url}/predict`, {
            method: 'POST',
            headers: { ...JSON_HEADERS, prefer: `respond-async, wait=${WAIT_SECONDS}` },
            body: PREDICT_BODY,
          });
          if (posted.status !== 202 && posted.status !== 200) throw new Error(`POST and wait: ${posted.status}`);
          if (posted.status === 200) return undefined;
          const id = idOf(posted.body);
          for (;;) {
            count();
            const { status } = await request(`${api.url}/predict/${id}?wait=${WAIT_SECONDS}`);
            if (status === 200) return id;
            if (status !== 400) throw new Error(`waiting for ${id}: ${status}`);
          }
        });
        const known = [...polling.ids, ...waiting.ids].filter((id): id is string => id !== undefined);
        assertAllSucceeded(await readJobs(redis.client, api.keys, known), 'long-poll jobs');
        const perJobUs = (run: ClientRun) => (run.cpuSeconds * 1e6) / jobs;
        const notes = [
          `long-poll: ${jobs} jobs, model latency ${min}–${max} ms, polling every ${pollIntervalMs} ms; ` +
            `long-poll: POST with Prefer: respond-async, wait=${WAIT_SECONDS}, then GET ?wait=${WAIT_SECONDS} if 202`,
        ];
        return [
          {
            id: 'long-poll.requests-per-job',
            label: 'long-poll: requests per finished job',
            unit: 'req',
            value: waiting.requests / jobs,
            baseline: polling.requests / jobs,
            baselineLabel: `polling every ${pollIntervalMs} ms`,
            target: { kind: 'ratio-at-most', ratio: 1 },
            notes,
          },
          {
            id: 'long-poll.cpu-per-job',
            label: 'long-poll: API CPU per finished job',
            unit: 'µs',
            value: perJobUs(waiting),
            baseline: perJobUs(polling),
            baselineLabel: `polling every ${pollIntervalMs} ms`,
            target: { kind: 'none' },
          },
        ];
      } finally {
        await consumer.stop();
      }
    } finally {
      await api.process.stop();
    }
  },
};
