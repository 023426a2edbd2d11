import { setTimeout as sleep } from 'node:timers/promises';
import { redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { launchRedis } from '../../../scripts/lib/local-redis.mjs';
import { freePort, startProcess, waitForHttp } from '../processes.js';
import { AppLogTally } from './app-logs.js';
import { runChaos, type Kills } from './chaos.js';
import { explain } from './evidence.js';
import { waitUntilFinished, type FinalStatus } from './finish.js';
import { ConsumerFleet } from './fleet.js';
import { log } from './log.js';
import type { SoakOptions } from './options.js';
import type { SoakResources } from './resources.js';
import { submitAll, type Submission } from './submit.js';
import { judge, verdictText } from './verdict.js';

/** Rejects with the abort reason once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * One soak run: its own Redis (AOF), the API and the consumers; submits the
 * jobs while killing consumers, waits for them to finish, then judges every
 * accepted job. What it starts goes into `resources` for the caller to stop.
 * `run` aborts on interruption or when the run cannot go on.
 */
export async function soak(
  options: SoakOptions,
  resources: SoakResources,
  run: AbortController,
): Promise<{ pass: boolean }> {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `soak-${runId}`;
  const keys = redisKeys(prefix);

  // --- Redis, and our own two connections (one is taken by SUBSCRIBE) ---
  const redisServer = await launchRedis({
    appendOnly: true,
    tempPrefix: 'foretell-soak-redis-',
    // Own process group: Ctrl-C reaches only the runner, which stops Redis after the apps.
    detached: true,
    stopGraceMs: 5000,
    onSpawn: (child) => (resources.redisProcess = child),
  });
  resources.redis = redisServer;
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
  resources.clients.push(redis, subscriber);
  // Errors surface on the commands; no unhandled 'error' event at shutdown.
  redis.on('error', () => undefined);
  subscriber.on('error', () => undefined);

  // Subscribe before the first job exists, so that no announcement is missed.
  const announced = new Map<string, number>();
  await subscriber.subscribe(keys.done);
  subscriber.on('message', (_channel: string, id: string) => announced.set(id, (announced.get(id) ?? 0) + 1));

  // --- the apps ---
  const tally = new AppLogTally();
  const env = {
    REDIS_URL: redisServer.url,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    MODEL_MIN_LATENCY_MS: String(options.minLatencyMs),
    MODEL_MAX_LATENCY_MS: String(options.maxLatencyMs),
  };
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = startProcess('api', {
    detached: true,
    onLine: (line) => tally.read(line),
    env: {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      MAX_QUEUE_LENGTH: String(options.maxQueue),
      SHUTDOWN_GRACE_MS: '2000',
    },
  });
  resources.api = api;
  // The API going away ends the run: nothing could be submitted any more.
  void api.exited.then((how) => {
    const last = api.tail().split('\n').filter(Boolean).slice(-5).join(' | ');
    run.abort(new Error(`the API exited (${how})${last ? `: ${last}` : ''}`));
  });
  const fleet = new ConsumerFleet({ options, env, prefix, tally, giveUp: (error) => run.abort(error) });
  resources.fleet = fleet;
  for (let i = 0; i < options.consumers; i++) fleet.start();

  await Promise.race([waitForHttp(api, `${apiUrl}/health`), aborted(run.signal)]);
  log(
    `redis on 127.0.0.1:${redisServer.port}, API on 127.0.0.1:${apiPort}, ${options.consumers} consumers, prefix ${prefix}`,
  );

  // --- the run: submit, kill, wait ---
  const startedAt = Date.now();
  const deadline = startedAt + options.durationLimitMs;
  const stopped = () => run.signal.aborted || Date.now() > deadline;
  const stopChaos = new AbortController();
  const chaos = runChaos(fleet, options, stopChaos.signal, stopped);
  let submission: Submission;
  let statuses: Map<string, FinalStatus>;
  let kills: Kills;
  try {
    submission = await submitAll({
      apiUrl,
      jobs: options.jobs,
      concurrency: options.submitConcurrency,
      runId,
      stopped,
    });
    run.signal.throwIfAborted();
    log(`submitted ${submission.ids.length} of ${options.jobs} jobs; waiting for them to finish`);
    statuses = await waitUntilFinished(redis, keys, submission.ids, { deadline, signal: run.signal });
    // Let a straggler (a job run twice) reach finish-jobs before announcements are counted.
    await sleep(Math.max(1000, options.maxLatencyMs + 200), undefined, { signal: run.signal }).catch(() => undefined);
  } finally {
    // Also on failure: no kill or replacement may race the clean-up.
    stopChaos.abort();
    fleet.close();
    kills = await chaos;
  }
  const elapsedS = Math.round((Date.now() - startedAt) / 100) / 10;
  run.signal.throwIfAborted();

  // --- the verdict ---
  const verdict = judge({ submission, statuses, announced, kills, reclaimed: tally.reclaimed, elapsedS });
  await explain(redis, keys, verdict, { statuses, announced, tally });
  if (submission.ids.length < options.jobs) {
    log(`warning: only ${submission.ids.length} of ${options.jobs} jobs were accepted within the limit`);
  }
  if (verdict.finishedSilently.length > 0) {
    log(`warning: ${verdict.finishedSilently.length} finished jobs were never announced (a missed pub/sub message?)`);
  }
  if (verdict.strangers.length > 0) log(`warning: ${verdict.strangers.length} announced ids were never accepted by us`);
  if (fleet.unexpectedExits > 0) log(`warning: ${fleet.unexpectedExits} consumers exited without being killed`);
  process.stdout.write(verdictText(verdict, options.jobs, kills, submission.refusals));
  return { pass: verdict.pass };
}
