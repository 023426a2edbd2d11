import { startApi, startConsumer, type RunningApi } from '../apps.js';
import { assertAllSucceeded, readJobs, submitJobs, waitForEmptyStream } from '../jobs.js';
import type { ScenarioContext } from '../scenario.js';

/**
 * Starts the API, runs `settings.finishedJobs` async jobs through it and a
 * consumer to completion, stops the consumer, and hands the API and the ids
 * over; the caller stops the API.
 */
export async function withFinishedJobs<T>(
  context: ScenarioContext,
  label: string,
  use: (api: RunningApi, ids: readonly string[]) => Promise<T>,
): Promise<T> {
  const { settings, redis } = context;
  const prefix = `bench-${label}`;
  const api = await startApi(context, { label, prefix });
  try {
    const consumer = await startConsumer(context, { label, prefix });
    let ids: string[];
    try {
      ({ ids } = await submitJobs(api.url, settings.finishedJobs, settings.connections));
      await waitForEmptyStream(redis.client, api.keys, 30_000, () => consumer.assertAlive());
    } finally {
      await consumer.stop();
    }
    assertAllSucceeded(await readJobs(redis.client, api.keys, ids), `${label}: finished jobs`);
    return await use(api, ids);
  } finally {
    await api.process.stop();
  }
}
