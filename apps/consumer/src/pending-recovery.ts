import type { RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type StreamEntry = [id: string, fields: string[]];

export interface RecoveryDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly consumerName: string;
  /** An entry pending this long without a heartbeat belongs to a consumer that is gone. */
  readonly claimIdleMs: number;
  /** Consumers idle this long with nothing pending are removed from the group. */
  readonly removeIdleConsumersAfterMs: number;
}

// Retries moved back to the stream per call: bounds the script's run time.
const PROMOTE_BATCH = 1000;

/** Pairs of a flat Redis reply, `[k1, v1, k2, v2]`, as an object. */
function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}

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
}: RecoveryDeps) {
  let claimCursor = '0-0';

  return {
    /** Moves due retries back onto the stream; resolves with how many. */
    promoteRetries(): Promise<number> {
      return redis.foretellPromoteRetries(
        keys.retries,
        keys.jobs,
        String(Date.now()),
        String(PROMOTE_BATCH),
        keys.jobPrefix,
      );
    },

    /**
     * Resets the idle time of the entries this consumer is running (XCLAIM to
     * itself, JUSTID: no delivery counted), so that a long model call is never
     * mistaken for a dead consumer and claimed by another.
     */
    async heartbeat(entryIds: string[]): Promise<void> {
      if (entryIds.length === 0) return;
      await redis.xclaim(keys.jobs, keys.group, consumerName, 0, ...entryIds, 'JUSTID');
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

    /** Removes consumers idle for long with nothing pending (safe: they own no entry). */
    async removeIdleConsumers(): Promise<void> {
      const consumers = (await redis.xinfo('CONSUMERS', keys.jobs, keys.group)) as unknown[][];
      for (const consumer of consumers.map(fieldsOf)) {
        const name = String(consumer.name);
        if (name === consumerName || Number(consumer.pending) > 0) continue;
        if (Number(consumer.idle) < removeIdleConsumersAfterMs) continue;
        await redis.xgroup('DELCONSUMER', keys.jobs, keys.group, name);
        log.info({ consumer: name }, 'removed an idle consumer from the group');
      }
    },
  };
}

export type PendingRecovery = ReturnType<typeof createPendingRecovery>;
