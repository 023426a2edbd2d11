import { MESSAGES } from '@foretell/shared';
import type { PredictionLookup } from '../prediction-service.js';

/** The statuses a job's live events name, in the order of its life. */
export type JobEventName = 'queued' | 'processing' | 'succeeded' | 'failed' | 'canceled';

/**
 * An event's `id:` is the position of its status in a job's life, so that
 * `Last-Event-ID` says how far a client got whichever connection told it:
 * 1 queued, 2 processing, 3 the end (one terminal status only ever happens).
 * A retry takes a job from processing back to queued: that is no step
 * forward, and is not sent again.
 */
const POSITION: Readonly<Record<JobEventName, number>> = {
  queued: 1,
  processing: 2,
  succeeded: 3,
  failed: 3,
  canceled: 3,
};

/** The position after which nothing more is sent: the stream ends. */
export const LAST_POSITION = 3;

export interface JobState {
  readonly name: JobEventName;
  /** The event's JSON: a finished job's is the body GET /predict/{id} answers with. */
  readonly data: unknown;
}

export interface JobEvent extends JobState {
  readonly id: number;
}

/**
 * A job's state as its live events tell it; undefined for a job that is not
 * there (never issued, another API key's, or expired).
 */
export function stateOf(lookup: PredictionLookup, predictionId: string): JobState | undefined {
  switch (lookup.kind) {
    case 'not-found':
      return undefined;
    case 'pending':
      return { name: lookup.status, data: { prediction_id: predictionId, status: lookup.status } };
    case 'succeeded':
      return { name: 'succeeded', data: { prediction_id: predictionId, output: lookup.output } };
    case 'failed':
      return {
        name: 'failed',
        data: { error: MESSAGES.failed, prediction_id: predictionId, status: 'failed', reason: lookup.reason },
      };
    case 'canceled':
      // The body GET /predict/{id} answers with (409).
      return { name: 'canceled', data: { error: MESSAGES.canceled, prediction_id: predictionId, status: 'canceled' } };
  }
}

/**
 * The events to send for `state` when the client has seen up to position
 * `after` (0: nothing). A new client gets the current status alone; one
 * that has seen an earlier step also gets the steps it missed on the way (a
 * job that started and finished between two reads still shows
 * `processing`), but only if the job ran: a job canceled while queued never
 * did.
 */
export function eventsAfter(after: number, state: JobState, predictionId: string): JobEvent[] {
  const at = POSITION[state.name];
  if (at <= after) return [];
  const events: JobEvent[] = [];
  const ran = state.name === 'succeeded' || state.name === 'failed';
  if (after > 0 && ran && after < POSITION.processing && at > POSITION.processing) {
    events.push({
      id: POSITION.processing,
      name: 'processing',
      data: { prediction_id: predictionId, status: 'processing' },
    });
  }
  events.push({ id: at, ...state });
  return events;
}

/** One event in the text/event-stream format; JSON text has no line breaks, so `data` is one line. */
export function formatEvent({ id, name, data }: JobEvent): string {
  return `id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
