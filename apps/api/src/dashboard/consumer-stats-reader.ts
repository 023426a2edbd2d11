import { decodeStatsSnapshot, STATS_STALE_MS, type ConsumerStatsSnapshot, type RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { MAX_STATS_FIELDS, type JobCounts, type ModelCounts, type Overview } from './dashboard-schemas.js';

type Stats = Overview['stats'];

const NO_JOBS: JobCounts = { succeeded: 0, failed: 0, retried: 0, reclaimed: 0, expired: 0, poison: 0 };

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, index) => bound === b[index]);
}

function addJobs(a: JobCounts, b: JobCounts): JobCounts {
  return {
    succeeded: a.succeeded + b.succeeded,
    failed: a.failed + b.failed,
    retried: a.retried + b.retried,
    reclaimed: a.reclaimed + b.reclaimed,
    expired: a.expired + b.expired,
    poison: a.poison + b.poison,
  };
}

function addModel(a: ModelCounts, b: ModelCounts): ModelCounts {
  return { counts: b.counts.map((count, index) => count + (a.counts[index] ?? 0)), sum: a.sum + b.sum };
}

/** The fields of one HRANDFIELD … WITHVALUES reply (a flat [field, value, …] list). */
function pairsOf(reply: unknown): [string, string][] {
  if (!Array.isArray(reply)) return [];
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
  return pairs;
}

/**
 * The consumers' fresh snapshots (consumer-stats.ts) and their sums. Reads at
 * most MAX_STATS_FIELDS distinct fields (HRANDFIELD: bounded whatever the
 * hash holds; with more consumers than that the sums are a sample) and drops
 * the fields that are stale or not snapshots, so the hash keeps only live
 * consumers. A consumer that rewrites its field between the read and the
 * HDEL loses it until its next keepalive: harmless, and no script needed.
 * Snapshots whose histogram bounds differ from the first one's (a consumer
 * of another version) are left out of the sums and the list.
 */
export async function readConsumerStats(redis: Redis, keys: RedisKeys, now: number): Promise<Stats> {
  const fields = pairsOf(await redis.call('HRANDFIELD', keys.stats, String(MAX_STATS_FIELDS), 'WITHVALUES'));
  const fresh: [string, ConsumerStatsSnapshot][] = [];
  const dropped: string[] = [];
  for (const [name, text] of fields) {
    const snapshot = decodeStatsSnapshot(text);
    if (snapshot && now - snapshot.at <= STATS_STALE_MS) fresh.push([name, snapshot]);
    else dropped.push(name);
  }
  if (dropped.length > 0) await redis.hdel(keys.stats, ...dropped);

  fresh.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bounds = fresh[0]?.[1].model.bounds ?? [];
  const instances = fresh
    .filter(([, snapshot]) => sameBounds(snapshot.model.bounds, bounds))
    .map(([name, { started, at, inFlight, jobs, model }]) => ({
      name,
      started,
      at,
      inFlight,
      jobs,
      model: { counts: model.counts, sum: model.sum },
    }));
  const none: ModelCounts = { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 };
  return {
    bounds,
    totals: {
      jobs: instances.reduce((sum, instance) => addJobs(sum, instance.jobs), NO_JOBS),
      model: instances.reduce((sum, instance) => addModel(sum, instance.model), none),
    },
    instances,
  };
}
