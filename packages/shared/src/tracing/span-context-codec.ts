import { createTraceState, type SpanContext } from '@opentelemetry/api';
import { acceptedTraceparent } from '../trace-context.js';

// W3C allows cutting tracestate at 512 characters; a longer one is dropped rather than half-parsed.
const MAX_TRACESTATE_LENGTH = 512;

/** The W3C `traceparent` (version 00) of a span. */
export function traceparentOf({ traceId, spanId, traceFlags }: SpanContext): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The remote span a valid `traceparent` names (with its `tracestate`, if any); undefined for an invalid one. */
export function remoteSpanContextOf(traceparent: unknown, tracestate?: unknown): SpanContext | undefined {
  const valid = acceptedTraceparent(traceparent);
  if (valid === undefined) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = valid.split('-');
  const state =
    typeof tracestate === 'string' && tracestate !== '' && tracestate.length <= MAX_TRACESTATE_LENGTH
      ? createTraceState(tracestate)
      : undefined;
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
    ...(state && { traceState: state }),
  };
}
