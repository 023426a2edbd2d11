import type { RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { readJobs } from '../jobs.js';
import { waitFor } from '../wait-for.js';
import { log } from './log.js';

export type FinalStatus = 'succeeded' | 'failed';

const isFinal = (status: string | null): status is FinalStatus => status === 'succeeded' || status === 'failed';

/**
 * Polls the job hashes (every 500 ms) until every job is succeeded or failed,
 * or `deadline` (Unix ms) passes: the unfinished ones are then missing from
 * the result. Rejects if `signal` aborts.
 */
export async function waitUntilFinished(
  redis: Redis,
  keys: RedisKeys,
  ids: readonly string[],
  { deadline, signal }: { readonly deadline: number; readonly signal: AbortSignal },
): Promise<Map<string, FinalStatus>> {
  const statuses = new Map<string, FinalStatus>();
  let waiting = ids;
  try {
    await waitFor(
      async () => {
        const states = await readJobs(redis, keys, waiting);
        states.forEach(({ status }, index) => {
          const id = waiting[index];
          if (id !== undefined && isFinal(status)) statuses.set(id, status);
        });
        waiting = waiting.filter((id) => !statuses.has(id));
        return waiting.length === 0;
      },
      {
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 500,
        what: 'every job to finish',
        unless: () => signal.throwIfAborted(),
      },
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const last = error instanceof Error ? error.cause : undefined;
    const cause = last instanceof Error ? ` (last error: ${last.message})` : '';
    log(`time limit reached with ${waiting.length} jobs unfinished${cause}`);
  }
  return statuses;
}
