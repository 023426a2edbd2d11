import { JobStatusSchema, Type } from '@foretell/shared';
import type { Static } from 'typebox';

// What the dashboard's JSON endpoints answer. Every list has its cap in the
// schema: the answers stay small however many consumers or dead letters there are.

/** Consumers listed by the overview (XINFO CONSUMERS), the first by name. */
export const MAX_CONSUMERS_LISTED = 100;
/** Consumers' stats snapshots read per overview (HRANDFIELD's distinct fields). */
export const MAX_STATS_FIELDS = 128;
/** Dead letters per page: an input may be up to BODY_LIMIT_BYTES in Redis. */
export const MAX_DEAD_LETTERS_LISTED = 50;
export const DEFAULT_DEAD_LETTERS_LISTED = 20;
/** Characters of a dead letter's input or reason shown in a list; the rest is cut (with …). */
export const MAX_LISTED_TEXT = 1000;

const Count = (description: string, example: number) => Type.Integer({ minimum: 0, description, examples: [example] });

const JobCountsSchema = Type.Object(
  {
    succeeded: Count('Jobs that succeeded.', 1520),
    failed: Count('Jobs that failed for good (dead-lettered).', 3),
    retried: Count('Attempts that failed and were scheduled again.', 7),
    reclaimed: Count('Entries taken over from a consumer that stopped.', 0),
    expired: Count('Entries whose job had expired before a consumer reached them.', 0),
    poison: Count('Entries that did not parse (dead-lettered).', 0),
  },
  { additionalProperties: false },
);

const ModelCountsSchema = Type.Object(
  {
    counts: Type.Array(Type.Integer({ minimum: 0 }), {
      maxItems: 65,
      description: 'Calls that took at most each of `stats.bounds` seconds (cumulative); the last counts every call.',
      examples: [[0, 0, 0, 0, 0, 0, 12, 300, 1100, 1500, 1523, 1523, 1523, 1523, 1523, 1523]],
    }),
    sum: Type.Number({ minimum: 0, description: 'Seconds spent in those calls.', examples: [512.3] }),
  },
  { additionalProperties: false },
);

const StatsInstanceSchema = Type.Object(
  {
    name: Type.String({ description: "The consumer's name in the group.", examples: ['worker-1'] }),
    started: Type.Integer({ description: 'When it began counting, Unix ms: a new value means its counts restarted.' }),
    at: Type.Integer({ description: 'When it wrote these counts, Unix ms (its clock).' }),
    inFlight: Count('Jobs it holds.', 12),
    jobs: JobCountsSchema,
    model: ModelCountsSchema,
  },
  { additionalProperties: false },
);

export const OverviewSchema = Type.Object(
  {
    at: Type.Integer({ description: "When this was read, Unix ms (the API's clock).", examples: [1767225600000] }),
    queue: Type.Object(
      {
        backlog: Count('Jobs waiting or running (XLEN of the jobs stream).', 40),
        inFlight: Count('Jobs the consumers hold, from their latest counts (running, or read and about to run).', 12),
        pending: Count('Entries delivered to a consumer and not yet acknowledged.', 12),
        lag: Count('Entries not yet delivered to any consumer.', 28),
        oldestAgeSeconds: Type.Number({ minimum: 0, description: 'Age of the oldest entry; 0 when empty.' }),
        retries: Count('Jobs waiting for a retry.', 2),
        deadLetters: Count('Entries in the dead-letter stream.', 3),
      },
      { additionalProperties: false },
    ),
    consumers: Type.Array(
      Type.Object(
        {
          name: Type.String({ examples: ['worker-1'] }),
          pending: Count('Entries it was delivered and has not acknowledged: its jobs in hand.', 12),
          idleMs: Count('Milliseconds since it last read from the stream.', 180),
          inFlight: Type.Optional(Count('Jobs it holds, from its latest counts; absent without fresh counts.', 12)),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: MAX_CONSUMERS_LISTED,
        description: `The consumers of the group, by name (at most ${MAX_CONSUMERS_LISTED}).`,
      },
    ),
    consumersTotal: Count('Consumers in the group, listed or not.', 1),
    stats: Type.Object(
      {
        bounds: Type.Array(Type.Number(), {
          maxItems: 64,
          description: "Upper bounds (seconds) of the model histogram's buckets.",
          examples: [[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60]],
        }),
        totals: Type.Object(
          { jobs: JobCountsSchema, model: ModelCountsSchema },
          { additionalProperties: false, description: 'The sums of `instances`.' },
        ),
        instances: Type.Array(StatsInstanceSchema, {
          maxItems: MAX_STATS_FIELDS,
          description:
            'Each running consumer’s counts since it started, written every few seconds. Rates come from the ' +
            'differences between two reads of the same (name, started).',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Overview = Static<typeof OverviewSchema>;
export type JobCounts = Static<typeof JobCountsSchema>;
export type ModelCounts = Static<typeof ModelCountsSchema>;
export type StatsInstance = Static<typeof StatsInstanceSchema>;

const DeadLetterSchema = Type.Object(
  {
    entryId: Type.String({ description: 'Its id in the dead-letter stream.', examples: ['1767225600000-0'] }),
    at: Type.Integer({ description: 'When it was dead-lettered, Unix ms.', examples: [1767225600000] }),
    owned: Type.Boolean({
      description: 'API keys on: whether the job is this key’s. Another key’s letter shows only its id and time.',
    }),
    replayable: Type.Boolean({ description: 'Whether it names a job that `replay` can queue again.' }),
    reason: Type.Optional(Type.String({ description: 'Why it failed (cut at 1000 characters).' })),
    jobId: Type.Optional(Type.String({ examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'] })),
    input: Type.Optional(Type.String({ description: 'The job’s input (cut at 1000 characters).' })),
    attempts: Type.Optional(Type.Integer({ minimum: 0 })),
    model: Type.Optional(Type.String({ description: 'The ref of the model that failed it.' })),
  },
  { additionalProperties: false },
);

export const DeadLettersSchema = Type.Object(
  {
    total: Count('Entries in the dead-letter stream.', 3),
    letters: Type.Array(DeadLetterSchema, { maxItems: MAX_DEAD_LETTERS_LISTED, description: 'The oldest first.' }),
  },
  { additionalProperties: false },
);
export type DeadLetterView = Static<typeof DeadLetterSchema>;
export type DeadLetters = Static<typeof DeadLettersSchema>;

export const ReplayedSchema = Type.Object(
  {
    entryId: Type.String({ examples: ['1767225600000-0'] }),
    jobId: Type.String({ examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'] }),
    status: Type.Literal('queued'),
  },
  { additionalProperties: false },
);

export const JobViewSchema = Type.Object(
  {
    id: Type.String({ examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'] }),
    status: JobStatusSchema,
    input: Type.String({ examples: ['Sample input data for the model'] }),
    result: Type.Optional(Type.String({ examples: ['17304'] })),
    reason: Type.Optional(Type.String()),
    attempts: Type.Integer({ minimum: 0, examples: [1] }),
    created: Type.Optional(Type.Integer({ description: 'Unix ms; kept until the job finishes.' })),
    started: Type.Optional(Type.Integer({ description: 'Unix ms; while it runs.' })),
    finished: Type.Optional(Type.Integer({ description: 'Unix ms.' })),
    requestId: Type.Optional(Type.String({ description: 'The X-Request-Id of the request that queued it.' })),
    traceparent: Type.Optional(Type.String()),
    model: Type.Optional(
      Type.Object(
        {
          ref: Type.String(),
          name: Type.Optional(Type.String({ examples: ['mock'] })),
          version: Type.Optional(Type.String({ examples: ['1.0.0'] })),
        },
        { additionalProperties: false, description: 'The model that finished it.' },
      ),
    ),
    expiresInSeconds: Type.Optional(
      Type.Integer({ description: 'Seconds before it is "not found" (its TTL).', examples: [3540] }),
    ),
  },
  { additionalProperties: false },
);
export type JobView = Static<typeof JobViewSchema>;
