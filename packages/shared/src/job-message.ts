import type { Static } from 'typebox';
import { Type, Compile } from './typebox.js';
import { OwnerIdSchema } from './job-record.js';
import { PredictionIdSchema, PredictRequestSchema } from './prediction-schemas.js';
import { RequestIdSchema, TraceparentSchema } from './trace-context.js';

/**
 * A stream entry of `{prefix}:jobs`: the prediction id and the request's
 * input, the same `input` schema as the HTTP body, the job's owner when API
 * keys are on, the request's id and traceparent (trace-context.ts), and
 * `wh 1` when the job has a webhook (its URL and events stay in the hash:
 * the mark only tells the start and finish scripts to read them).
 * Written by enqueue-job, promote-retries and replay-dead-letter as
 * `XADD … id <id> input <input> [owner <owner>] [rid <request id>] [tp <traceparent>] [wh 1]`.
 */
export const JobMessageSchema = Type.Object(
  {
    id: PredictionIdSchema,
    input: PredictRequestSchema.properties.input,
    owner: Type.Optional(OwnerIdSchema),
    rid: Type.Optional(RequestIdSchema),
    tp: Type.Optional(TraceparentSchema),
    wh: Type.Optional(Type.Literal('1')),
  },
  { additionalProperties: false },
);
export type JobMessage = Static<typeof JobMessageSchema>;

const jobMessageValidator = Compile(JobMessageSchema);

export type DecodedJobMessage = { ok: true; message: JobMessage } | { ok: false; reason: string };

/**
 * Decodes the flat field list XREADGROUP returns. Never throws: an entry that
 * does not parse is reported with the reason, for the dead-letter stream.
 */
export function decodeJobMessage(fields: readonly string[]): DecodedJobMessage {
  if (fields.length % 2 !== 0) return { ok: false, reason: 'odd number of fields' };
  const candidate: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) {
    candidate[fields[i] as string] = fields[i + 1] as string;
  }
  if (jobMessageValidator.Check(candidate)) return { ok: true, message: candidate };
  const [first] = jobMessageValidator.Errors(candidate);
  return {
    ok: false,
    reason: `invalid job message: ${first?.instancePath || '/'} ${first?.message ?? 'does not match'}`,
  };
}
