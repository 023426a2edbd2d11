import type { JobMessage, RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ScriptKeys } from './job-scripts.js';

export type StreamEntry = [id: string, fields: string[]];

/** An entry a consumer has in hand, and the job it names (none for one that does not parse). */
export interface HeldEntry {
  readonly entryId: string;
  readonly job: Pick<JobMessage, 'id' | 'owner'> | undefined;
}

export interface RecoveryDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly consumerName: string;
  /** An entry pending this long without a heartbeat belongs to a consumer that is gone. */
  readonly claimIdleMs: number;
  /** Consumers idle this long with nothing pending are removed from the group. */
  readonly removeIdleConsumersAfterMs: number;
  /** Renewed on the jobs in hand at each heartbeat. */
  readonly resultTtlSeconds: number;
}

// Retries moved back to the stream per call: bounds the script's run time.
const PROMOTE_BATCH = 1000;

/**
 * The consumer's upkeep of the group, run periodically: it keeps its own
 * entries fresh, takes over those of consumers that died (XAUTOCLAIM), puts
 * due retries back on the stream, and forgets consumers long gone.
 */
export function createPendingRecovery({
  redis,
  keys,
  log,
  consumerName,
  claimIdleMs,
  removeIdleConsumersAfterMs,
  resultTtlSeconds,
}: RecoveryDeps) {
  let claimCursor = '0-0';

  return {
    /** Moves due retries back onto the stream; resolves with how many. */
    promoteRetries(): Promise<number> {
      return redis.foretellPromoteRetries(
        3,
        keys.retries,
        keys.jobs,
        keys.backlogBytes,
        String(PROMOTE_BATCH),
        keys.jobPrefix,
      );
    },

    /**
     * Resets the idle time of the entries this consumer is running, and the
     * TTL of their jobs, so that a long model call is never mistaken for a
     * dead consumer nor outlived by its job. Resolves with the entries that
     * another consumer has taken over (they are left to it).
     */
    async heartbeat(entries: readonly HeldEntry[]): Promise<string[]> {
      if (entries.length === 0) return [];
      const scriptKeys = new ScriptKeys([keys.jobs]);
      const perEntry = entries.flatMap(({ entryId, job }) => [
        entryId,
        job?.id ?? '',
        scriptKeys.indexOf(job && keys.job(job.id)),
        scriptKeys.indexOf(job?.owner === undefined ? undefined : keys.ownerJobs(job.owner)),
      ]);
      return redis.foretellHeartbeatEntries(
        scriptKeys.keys.length,
        ...scriptKeys.keys,
        keys.group,
        consumerName,
        String(resultTtlSeconds),
        ...perEntry,
      );
    },

    /** Takes over up to `count` entries idle longer than the claim timeout. */
    async claimStale(count: number): Promise<StreamEntry[]> {
      if (count <= 0) return [];
      const [next, entries] = (await redis.xautoclaim(
        keys.jobs,
        keys.group,
        consumerName,
        claimIdleMs,
        claimCursor,
        'COUNT',
        count,
      )) as [string, (StreamEntry | null)[]];
      claimCursor = next;
      const claimed = entries.filter((entry): entry is StreamEntry => entry !== null);
      if (claimed.length > 0) log.warn({ count: claimed.length }, 'reclaimed entries of a consumer that stopped');
      return claimed;
    },

    /** Removes consumers idle for long with nothing pending, in one atomic script (so none is handed an entry meanwhile). */
    async removeIdleConsumers(): Promise<void> {
      const removed = await redis.foretellRemoveIdleConsumers(
        1,
        keys.jobs,
        keys.group,
        consumerName,
        String(removeIdleConsumersAfterMs),
      );
      for (const consumer of removed) log.info({ consumer }, 'removed an idle consumer from the group');
    },
  };
}

export type PendingRecovery = ReturnType<typeof createPendingRecovery>;
