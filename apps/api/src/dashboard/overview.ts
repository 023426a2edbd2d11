import { readQueueSnapshot, type RedisKeys } from '@foretell/shared';
import { ReplyError, type Redis } from 'ioredis';
import { classifyRedisFailure } from '../redis-failure.js';
import { readConsumerStats } from './consumer-stats-reader.js';
import { MAX_CONSUMERS_LISTED, type Overview } from './dashboard-schemas.js';

interface GroupConsumer {
  readonly name: string;
  readonly pending: number;
  readonly idleMs: number;
}

/** One XINFO CONSUMERS entry (a flat [name, value, …] list). */
function consumerOf(flat: unknown): GroupConsumer | undefined {
  if (!Array.isArray(flat)) return undefined;
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
  const name = fields.get('name');
  if (typeof name !== 'string') return undefined;
  return { name, pending: Number(fields.get('pending') ?? 0), idleMs: Number(fields.get('idle') ?? 0) };
}

/**
 * The group's consumers. XINFO CONSUMERS has no COUNT: its size is bounded
 * by the consumers themselves, which remove idle ones from the group
 * (CONSUMER_REMOVE_IDLE_MS); the answer lists the first by name.
 */
async function readGroupConsumers(redis: Redis, keys: RedisKeys): Promise<GroupConsumer[]> {
  try {
    const reply = (await redis.xinfo('CONSUMERS', keys.jobs, keys.group)) as unknown[];
    return reply.map(consumerOf).filter((consumer) => consumer !== undefined);
  } catch (error) {
    // No stream or no group yet (no consumer ever started): no consumers.
    if (error instanceof ReplyError && /no such key|NOGROUP/i.test((error as Error).message)) return [];
    throw error;
  }
}

/**
 * What the dashboard's top shows, read in parallel: the queue's counts (the
 * same pipelined read as the queue metrics), the group's consumers, and the
 * consumers' latest counts. Aggregates only: no job's data.
 */
export async function readOverview(redis: Redis, keys: RedisKeys): Promise<Overview> {
  const at = Date.now();
  try {
    const [queue, consumers, stats] = await Promise.all([
      readQueueSnapshot(redis, keys),
      readGroupConsumers(redis, keys),
      readConsumerStats(redis, keys, at),
    ]);
    const held = new Map(stats.instances.map((instance) => [instance.name, instance.inFlight]));
    const listed = consumers
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, MAX_CONSUMERS_LISTED)
      .map((consumer) => {
        const inFlight = held.get(consumer.name);
        return inFlight === undefined ? consumer : { ...consumer, inFlight };
      });
    return {
      at,
      queue: {
        backlog: queue.length,
        inFlight: stats.instances.reduce((sum, instance) => sum + instance.inFlight, 0),
        pending: queue.pending,
        lag: queue.lag,
        oldestAgeSeconds: queue.oldestAgeSeconds,
        retries: queue.retriesScheduled,
        deadLetters: queue.deadLetters,
      },
      consumers: listed,
      consumersTotal: consumers.length,
      stats,
    };
  } catch (error) {
    throw classifyRedisFailure(error);
  }
}
