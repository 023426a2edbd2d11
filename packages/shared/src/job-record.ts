import type { Static } from 'typebox';
import { Type, Compile } from './typebox.js';
import { MODEL_REF_PATTERN } from './model-identity.js';
import { RequestIdSchema, TraceparentSchema } from './trace-context.js';

export const JobStatusSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('processing'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  // By POST /predict/{id}/cancel: final, as succeeded and failed are.
  Type.Literal('canceled'),
]);
export type JobStatus = Static<typeof JobStatusSchema>;

const EpochMsSchema = Type.Integer({ minimum: 0, description: 'Unix time in milliseconds.' });

/**
 * Who submitted a job when API keys are on: the key's id, never the secret.
 * It is part of Redis key names (`redisKeys().ownerJobs`), hence the narrow
 * alphabet.
 */
export const OwnerIdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/**
 * The `reason` a client reads for a job that failed for good, unless the
 * model threw an error meant for clients (`retryable === false`, e.g.
 * NonRetryableError): a model's own message may carry anything (a connection
 * string with its password), so it stays in the logs and the dead-letter stream.
 */
export const MODEL_FAILURE_REASON = 'The model failed to make a prediction.';

/**
 * One job as stored in its hash `{prefix}:job:{id}`. Field names are short
 * but readable: they are repeated in every hash, and operators read them with
 * `redis-cli HGETALL`. Queued: status, input, attempts, created; running: also
 * started; finished: status, input, result or reason, attempts, finished.
 * `owner` is there from the start when API keys are on; `model` once the
 * job finished, if the model has a name (see model-identity.ts). While a job waits for
 * a retry, `reason` is the failed attempt's error (GET shows it only once the
 * job has failed for good, and then it is the client's reason).
 */
export const JobRecordSchema = Type.Object({
  status: JobStatusSchema,
  input: Type.String(),
  result: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  attempts: Type.Integer({ minimum: 0 }),
  /** Until the job finishes: a finished job keeps only `finished`, to save memory. */
  created: Type.Optional(EpochMsSchema),
  started: Type.Optional(EpochMsSchema),
  finished: Type.Optional(EpochMsSchema),
  owner: Type.Optional(OwnerIdSchema),
  /** The request that queued it (trace-context.ts): kept until the job finishes. */
  request_id: Type.Optional(RequestIdSchema),
  traceparent: Type.Optional(TraceparentSchema),
  /** Where its webhook goes (checked at submission), and for which events: `start`, `completed`, comma-separated. */
  webhook: Type.Optional(Type.String()),
  webhook_events: Type.Optional(Type.String()),
  /** The ref of the model that finished the job (`redisKeys().models` names it). */
  model: Type.Optional(Type.String({ pattern: MODEL_REF_PATTERN })),
});
export type JobRecord = Static<typeof JobRecordSchema>;

const jobRecordValidator = Compile(JobRecordSchema);

export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
}

/**
 * Decodes a hash read with HGETALL. An empty hash is a job that never existed
 * or has expired: `undefined`. A hash that does not match the schema throws,
 * since it was not written by foretell.
 */
export function decodeJobRecord(hash: Record<string, string>): JobRecord | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const candidate: Record<string, unknown> = { ...hash };
  for (const field of ['attempts', 'created', 'started', 'finished'] as const) {
    const value = hash[field];
    if (value !== undefined) candidate[field] = Number(value);
  }
  if (!jobRecordValidator.Check(candidate)) {
    const [first] = jobRecordValidator.Errors(candidate);
    throw new CorruptRecordError(
      `job hash does not match its schema: ${first?.instancePath ?? ''} ${first?.message ?? ''}`,
    );
  }
  return candidate;
}
