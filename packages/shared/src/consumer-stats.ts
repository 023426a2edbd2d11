import type { Static } from 'typebox';
import { Type, Compile } from './typebox.js';

/**
 * A consumer's cumulative counts since it started, as it writes them to its
 * field of `redisKeys().stats` for the dashboard: the API cannot see the
 * consumers' metrics, and Prometheus is not always there. Counts only grow
 * while `started` stays the same; a new `started` means they began again
 * from zero (a restart), so a reader takes differences per (name, started).
 */
export const ConsumerStatsSnapshotSchema = Type.Object(
  {
    /** The format's version: a reader skips what it does not know. */
    v: Type.Literal(1),
    /** When it was written, Unix ms (the consumer's clock). */
    at: Type.Integer({ minimum: 0 }),
    /** When this process began counting, Unix ms. */
    started: Type.Integer({ minimum: 0 }),
    /** Jobs it holds now: running, or read and about to run. */
    inFlight: Type.Integer({ minimum: 0 }),
    jobs: Type.Object(
      {
        succeeded: Type.Integer({ minimum: 0 }),
        failed: Type.Integer({ minimum: 0 }),
        retried: Type.Integer({ minimum: 0 }),
        reclaimed: Type.Integer({ minimum: 0 }),
        expired: Type.Integer({ minimum: 0 }),
        poison: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    /**
     * The model's calls, as the `foretell_model_duration_seconds` histogram
     * counts them: `counts[i]` calls took at most `bounds[i]` seconds
     * (cumulative), the last (one more than the bounds) is every call.
     */
    model: Type.Object(
      {
        bounds: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { maxItems: 64 }),
        counts: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 65 }),
        sum: Type.Number({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ConsumerStatsSnapshot = Static<typeof ConsumerStatsSnapshotSchema>;

/** How often a consumer writes its snapshot when its counts changed. */
export const STATS_PUBLISH_INTERVAL_MS = 2000;
/** How often it writes one anyway: an idle consumer still shows as alive. */
export const STATS_KEEPALIVE_MS = 10_000;
/**
 * A snapshot older than this (three keepalives missed: the consumer is gone,
 * or its clock is far off) is dropped by the API.
 */
export const STATS_STALE_MS = 3 * STATS_KEEPALIVE_MS;
/**
 * Largest snapshot a reader decodes: one with every bound is about 1 KiB,
 * so anything bigger was not written by a consumer.
 */
export const MAX_STATS_SNAPSHOT_BYTES = 4096;

const snapshotValidator = Compile(ConsumerStatsSnapshotSchema);

export function encodeStatsSnapshot(snapshot: ConsumerStatsSnapshot): string {
  return JSON.stringify(snapshot);
}

/** A snapshot as stored, or undefined when it is not one this version writes (too big, not JSON, wrong shape). */
export function decodeStatsSnapshot(text: string): ConsumerStatsSnapshot | undefined {
  if (text.length > MAX_STATS_SNAPSHOT_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not written by a consumer: the caller skips it like any other foreign value.
    return undefined;
  }
  if (!snapshotValidator.Check(value)) return undefined;
  return value.model.counts.length === value.model.bounds.length + 1 ? value : undefined;
}
