// The body of a webhook: the job as its hash has it when the attempt is made,
// in the Standard Webhooks envelope ({type, timestamp, data}).
import {
  CorruptRecordError,
  decodeJobRecord,
  type JobRecord,
  type JobStatus,
  type WebhookDelivery,
} from '@foretell/shared';

/** The event as receivers read it in `type`. */
export const WEBHOOK_TYPES = {
  start: 'prediction.started',
  completed: 'prediction.completed',
} as const;

export interface WebhookPayloadData {
  readonly prediction_id: string;
  readonly status: JobStatus;
  /** A JSON value for a model with schemas, the string otherwise: as the request sent it. */
  readonly input: unknown;
  /** Succeeded: what GET /predict/{id} answers with as `output`. */
  readonly output?: { readonly input: unknown; readonly result: unknown };
  /** Failed: the reason GET /predict/{id} shows. */
  readonly reason?: string;
  readonly created_at?: string;
  readonly started_at?: string;
  readonly completed_at?: string;
}

export interface WebhookPayload {
  readonly type: (typeof WEBHOOK_TYPES)[keyof typeof WEBHOOK_TYPES];
  /** The attempt's time, ISO 8601: the same instant as the signature's webhook-timestamp. */
  readonly timestamp: string;
  readonly data: WebhookPayloadData;
}

/** A payload, or why the delivery can never be made (it then fails for good). */
export type WebhookPayloadResult = { ok: true; payload: WebhookPayload } | { ok: false; error: string };

export const EXPIRED_JOB_ERROR = 'the job expired before its webhook was sent';

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * The payload of `delivery` from its job's hash (HGETALL; empty when it
 * expired). `jsonValues`: the model has schemas, so input and result are
 * JSON text to turn back into values, as GET /predict/{id} does.
 *
 * A `start` delivery reports the job as started, whatever it became since
 * (it may have finished before its start was sent): status `processing`,
 * no outcome. A `completed` one is queued with the outcome, so a hash
 * without one is not foretell's doing, and is refused.
 */
export function buildWebhookPayload(
  delivery: WebhookDelivery,
  hash: Record<string, string>,
  options: { readonly jsonValues: boolean; readonly timestamp: Date },
): WebhookPayloadResult {
  let record: JobRecord | undefined;
  try {
    record = decodeJobRecord(hash);
  } catch (error) {
    if (error instanceof CorruptRecordError) return { ok: false, error: error.message };
    throw error;
  }
  if (record === undefined) return { ok: false, error: EXPIRED_JOB_ERROR };
  const decode = options.jsonValues ? (text: string): unknown => JSON.parse(text) : (text: string): unknown => text;
  const started = delivery.event === 'start';
  if (!started && !(record.status === 'succeeded' || record.status === 'failed' || record.status === 'canceled')) {
    return { ok: false, error: `a completed webhook for a job still ${record.status}: it has no outcome to send` };
  }
  try {
    const input = decode(record.input);
    const data: WebhookPayloadData = {
      prediction_id: delivery.id,
      status: started ? 'processing' : record.status,
      input,
      ...(!started && record.status === 'succeeded' && { output: { input, result: decode(record.result ?? '') } }),
      ...(!started && record.status === 'failed' && { reason: record.reason ?? 'unknown' }),
      ...(record.created !== undefined && { created_at: iso(record.created) }),
      ...(record.started !== undefined && { started_at: iso(record.started) }),
      ...(!started && record.finished !== undefined && { completed_at: iso(record.finished) }),
    };
    return {
      ok: true,
      payload: { type: WEBHOOK_TYPES[delivery.event], timestamp: options.timestamp.toISOString(), data },
    };
  } catch (error) {
    // JSON text that does not parse, in a job of a model with schemas: not written by this model's apps.
    if (error instanceof SyntaxError)
      return { ok: false, error: `the job's input or result is not JSON: ${error.message}` };
    throw error;
  }
}
