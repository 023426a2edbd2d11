import type { RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import type { JobStore } from '../job-store.js';
import { classifyRedisFailure } from '../redis-failure.js';
import type { JobView } from './dashboard-schemas.js';

/**
 * One job's record for the dashboard's search, by the rule of
 * GET /predict/{id}: with `ownerId` (API keys on) another key's job is not
 * found, exactly like an unknown id. The owner itself is never shown.
 */
export async function readJobView(
  store: JobStore,
  redis: Redis,
  keys: RedisKeys,
  id: string,
  ownerId: string | undefined,
): Promise<JobView> {
  const record = await store.read(id);
  if (record === undefined || (ownerId !== undefined && record.owner !== ownerId)) {
    throw new AppError('JOB_NOT_FOUND');
  }
  const [model, ttl] = await Promise.all([
    record.model === undefined ? undefined : store.modelNamed(record.model),
    redis.ttl(keys.job(id)).catch((error: unknown) => {
      throw classifyRedisFailure(error);
    }),
  ]);
  return {
    id,
    status: record.status,
    input: record.input,
    attempts: record.attempts,
    ...(record.result !== undefined && { result: record.result }),
    // While a job waits for a retry, `reason` is the model's own error text, which clients never see.
    ...(record.status === 'failed' && record.reason !== undefined && { reason: record.reason }),
    ...(record.created !== undefined && { created: record.created }),
    ...(record.started !== undefined && { started: record.started }),
    ...(record.finished !== undefined && { finished: record.finished }),
    ...(record.request_id !== undefined && { requestId: record.request_id }),
    ...(record.traceparent !== undefined && { traceparent: record.traceparent }),
    ...(record.model !== undefined && { model: { ref: record.model, ...model } }),
    // -1 (no TTL) and -2 (expired since the read) have nothing to show.
    ...(ttl >= 0 && { expiresInSeconds: ttl }),
  };
}
