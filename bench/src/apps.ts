import { mkdirSync } from 'node:fs';
import { redisKeys, type RedisKeys } from '@foretell/shared';
import { fieldsOf } from './jobs.js';
import { JSON_HEADERS, PREDICT_BODY } from './load.js';
import { freePort, startProcess, waitForHttp, type BenchProcess, type EntryName } from './processes.js';
import type { ScenarioContext } from './scenario.js';
import { RESULTS_DIR } from './settings.js';
import { waitFor } from './wait-for.js';

export const PROFILES_DIR = `${RESULTS_DIR}/profiles`;

export interface AppOptions {
  /** Names the process in profiles and the consumer in its group. */
  readonly label: string;
  readonly prefix: string;
  /** On top of the defaults: model latency 0, LOG_LEVEL=warn, no queue cap. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Also wait until a sync POST is answered 200: a model with `load()` or
   * worker threads loads after the API listens (503 MODEL_LOADING meanwhile).
   */
  readonly waitForModel?: boolean;
  /** The body of that sync POST: a model with an input schema refuses the bench's string input. */
  readonly probeBody?: string;
}

function spawnApp(context: ScenarioContext, app: EntryName, { label, prefix, env }: AppOptions, own: object) {
  const cpuProfile = context.settings.profile
    ? { dir: PROFILES_DIR, name: `${label}-${app}-run${context.run}.cpuprofile` }
    : undefined;
  if (cpuProfile) mkdirSync(cpuProfile.dir, { recursive: true });
  return startProcess(app, {
    env: {
      REDIS_URL: context.redis.url,
      KEY_PREFIX: prefix,
      MODEL_MIN_LATENCY_MS: '0',
      MODEL_MAX_LATENCY_MS: '0',
      LOG_LEVEL: 'warn',
      // A stop drains quickly: the bench never leaves work it still needs.
      SHUTDOWN_GRACE_MS: '2000',
      ...own,
      ...env,
    },
    ...(cpuProfile && { cpuProfile }),
  });
}

export interface RunningApi {
  readonly process: BenchProcess;
  readonly url: string;
  readonly keys: RedisKeys;
}

/** The built API on a free port, once it answers /health. */
export async function startApi(context: ScenarioContext, options: AppOptions): Promise<RunningApi> {
  const port = await freePort();
  const child = spawnApp(context, 'api', options, {
    PORT: String(port),
    HOST: '127.0.0.1',
    // No cap: a refused job costs nothing and would inflate the figure.
    MAX_QUEUE_LENGTH: '0',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(child, `${url}/health`);
    if (options.waitForModel) {
      await waitFor(
        async () => {
          const body = options.probeBody ?? PREDICT_BODY;
          const response = await fetch(`${url}/predict`, { method: 'POST', headers: JSON_HEADERS, body });
          await response.body?.cancel();
          return response.status === 200;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 50,
          what: `the model of ${options.label} to load`,
          unless: () => child.assertAlive(),
        },
      );
    }
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { process: child, url, keys: redisKeys(options.prefix) };
}

/** The built consumer, once it has joined the group (its first XREADGROUP). */
export async function startConsumer(context: ScenarioContext, options: AppOptions): Promise<BenchProcess> {
  const name = `bench-${options.label}`;
  // METRICS_PORT 0: any free port, as the bench may run consumers side by side.
  const child = spawnApp(context, 'consumer', options, { CONSUMER_NAME: name, METRICS_PORT: '0' });
  const keys = redisKeys(options.prefix);
  try {
    await waitFor(
      async () => {
        const consumers = (await context.redis.client.xinfo('CONSUMERS', keys.jobs, keys.group)) as unknown[][];
        return consumers.some((consumer) => fieldsOf(consumer).name === name);
      },
      {
        // As the API's model: a model in worker threads loads in each thread first, slowly on a busy machine.
        timeoutMs: 60_000,
        intervalMs: 20,
        what: `consumer ${name} in ${keys.group}`,
        unless: () => child.assertAlive(),
      },
    );
  } catch (error) {
    await child.stop();
    throw new Error(`${String(error)}\n${child.tail()}`, { cause: error });
  }
  return child;
}
