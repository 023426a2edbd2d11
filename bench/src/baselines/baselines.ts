import { mkdirSync } from 'node:fs';
import { redisKeys } from '@foretell/shared';
import { PROFILES_DIR } from '../apps.js';
import { assertAllSucceeded, completionRate, fieldsOf, fillBacklog, readJobs } from '../jobs.js';
import { INPUT, JSON_HEADERS, PREDICT_BODY, type LoadSpec } from '../load.js';
import { cpuSeconds, freePort, startProcess, waitForHttp, type BenchProcess } from '../processes.js';
import type { RedisServer } from '../redis-server.js';
import type { BenchSettings } from '../settings.js';
import { waitFor } from '../wait-for.js';

export interface RawConsumerBaseline {
  readonly jobsPerSecond: number;
  /** CPU of the loop's process (from its start) per job drained, µs. */
  readonly cpuPerJobUs: number;
  /** CPU of redis-server per job while the loop drained the backlog, µs. */
  readonly redisCpuPerJobUs: number;
  /** Of the loop's process once the backlog is drained. */
  readonly rssBytes: number;
}

export interface Baselines {
  /** Times the raw loop draining a backlog now; also what `rawConsumer()` answers from then on. */
  measureRawConsumer(): Promise<RawConsumerBaseline>;
  /** The run's latest raw-loop measurement, made now if there is none yet. */
  rawConsumer(): Promise<RawConsumerBaseline>;
}

export interface BaselineDeps {
  readonly settings: BenchSettings;
  readonly redis: RedisServer;
  readonly run: number;
  readonly log: (message: string) => void;
}

/** With --profile, a CPU profile of the baseline's process too, to compare with the app's. */
function profiled(settings: BenchSettings, name: string): { cpuProfile?: { dir: string; name: string } } {
  if (!settings.profile) return {};
  mkdirSync(PROFILES_DIR, { recursive: true });
  return { cpuProfile: { dir: PROFILES_DIR, name: `${name}.cpuprofile` } };
}

export interface BareRoute {
  readonly process: BenchProcess;
  /** The load the bare route is measured with: the same small JSON POST as sync /predict. */
  readonly load: LoadSpec;
}

/** Starts the bare-route server on a free port; the caller stops it. */
async function startBareRoute(
  { settings, run }: Pick<BaselineDeps, 'settings' | 'run'>,
  label: string,
): Promise<BareRoute> {
  const port = await freePort();
  const server = startProcess('bare-route', {
    env: { PORT: String(port), HOST: '127.0.0.1' },
    ...profiled(settings, `baseline-bare-route-${label}-run${run}`),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(server, `${url}/predict`, { method: 'POST', headers: JSON_HEADERS, body: PREDICT_BODY });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    process: server,
    load: {
      url,
      connections: settings.connections,
      method: 'POST',
      path: '/predict',
      headers: JSON_HEADERS,
      body: PREDICT_BODY,
      expectStatus: 200,
      ...(server.pid !== undefined && { serverPid: server.pid }),
    },
  };
}

/** Runs `use` with the bare route up, and stops it afterwards. */
export async function withBareRoute<T>(
  context: Pick<BaselineDeps, 'settings' | 'run'>,
  label: string,
  use: (bare: BareRoute) => Promise<T>,
): Promise<T> {
  const bare = await startBareRoute(context, label);
  try {
    return await use(bare);
  } finally {
    await bare.process.stop();
  }
}

/** Fills a backlog the way the API does, then times the raw loop draining it. */
async function measureRawConsumer(
  { settings, redis, run, log }: BaselineDeps,
  nth: number,
): Promise<RawConsumerBaseline> {
  const keys = redisKeys(`bench-raw-${run}-${nth}`);
  const client = redis.client;
  log(`baseline: raw consumer loop, filling ${settings.backlogJobs} jobs`);
  const ids = await fillBacklog(client, keys, settings.backlogJobs, INPUT);
  await client.xgroup('CREATE', keys.jobs, keys.group, '0');
  const redisCpuBefore = cpuSeconds(redis.pid);
  const loop = startProcess('raw-consumer', {
    env: {
      REDIS_URL: redis.url,
      STREAM: keys.jobs,
      GROUP: keys.group,
      CONSUMER: 'raw',
      JOB_PREFIX: keys.jobPrefix,
      BATCH: '500',
    },
    ...profiled(settings, `baseline-raw-consumer-run${run}-${nth}`),
  });
  try {
    // The raw loop acks without deleting: it is done when nothing is left to deliver or ack.
    await waitFor(
      async () => {
        const groups = (await client.xinfo('GROUPS', keys.jobs)) as unknown[][];
        const group = groups.map(fieldsOf).find((fields) => fields.name === keys.group);
        return group !== undefined && Number(group.lag) === 0 && Number(group.pending) === 0;
      },
      {
        timeoutMs: 60_000 + settings.backlogJobs,
        intervalMs: 10,
        what: 'the raw loop to drain',
        unless: () => loop.assertAlive(),
      },
    );
    const rssBytes = loop.rss();
    const cpuPerJobUs = (cpuSeconds(loop.pid) * 1e6) / ids.length;
    const redisCpuPerJobUs = ((cpuSeconds(redis.pid) - redisCpuBefore) * 1e6) / ids.length;
    const states = await readJobs(client, keys, ids);
    assertAllSucceeded(states, 'raw consumer loop');
    return { jobsPerSecond: completionRate(states), cpuPerJobUs, redisCpuPerJobUs, rssBytes };
  } finally {
    await loop.stop();
    await unlinkAll(redis, [keys.jobs, ...ids.map((id) => keys.job(id))]);
  }
}

async function unlinkAll(redis: RedisServer, keys: readonly string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 10_000) {
    await redis.client.unlink(...keys.slice(start, start + 10_000));
  }
}

/** The raw-loop baseline of one run. */
export function createRunBaselines(deps: BaselineDeps): Baselines {
  let latest: Promise<RawConsumerBaseline> | undefined;
  let measured = 0;
  const measure = () => {
    measured += 1;
    const measuring = measureRawConsumer(deps, measured);
    latest = measuring;
    return measuring;
  };
  return { measureRawConsumer: measure, rawConsumer: () => latest ?? measure() };
}
