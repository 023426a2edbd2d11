import type { Static } from 'typebox';
import { Type } from './typebox.js';

/**
 * What ties a job to the request that queued it: the request's id (the
 * client's `X-Request-Id`, or one the API made) and its W3C `traceparent`
 * when the client sent a valid one. Carried in the stream entry and kept in
 * the job's hash while it is queued or running, so that every log line the
 * consumer writes about the job can name them; a finished hash drops them
 * (its memory is what a kept result costs: see the README's "Memory").
 */
export const RequestIdSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' });

/** W3C Trace Context, version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
export const TraceparentSchema = Type.String({ pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' });

export interface JobTrace {
  readonly requestId?: Static<typeof RequestIdSchema>;
  readonly traceparent?: Static<typeof TraceparentSchema>;
}

const REQUEST_ID = /^[\x21-\x7E]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** A client's X-Request-Id if it is one (1 to 128 visible ASCII characters); else undefined, and the API makes one. */
export function acceptedRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}

/**
 * A client's traceparent if it is valid W3C version 00 (all-zero ids are
 * not); else undefined: the spec says an invalid one is ignored, not refused.
 */
export function acceptedTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match || /^0+$/.test(match[1] ?? '') || /^0+$/.test(match[2] ?? '')) return undefined;
  return value;
}
