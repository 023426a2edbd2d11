/**
 * The events a job's webhook may be sent for: `start` when a consumer starts
 * it (each attempt), `completed` when it has its outcome (succeeded, failed
 * or canceled).
 */
export const WEBHOOK_EVENTS = ['start', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** What a request that names no `webhook_events_filter` gets. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['completed'];

/**
 * The job hash's `webhook_events` field: the events, comma-separated, in
 * WEBHOOK_EVENTS order. The Lua scripts look for `start` and `completed` in it.
 */
export function encodeWebhookEvents(events: readonly WebhookEvent[]): string {
  return WEBHOOK_EVENTS.filter((event) => events.includes(event)).join(',');
}

/**
 * One delivery waiting in `redisKeys().webhooks` (the sorted set's member).
 * The scripts that start, finish and cancel a job write its first attempt
 * (Lua's cjson, so the keys' order is not fixed); the consumers that send it
 * write each retry.
 */
export interface WebhookDelivery {
  /** The job's id. */
  readonly id: string;
  readonly event: WebhookEvent;
  readonly url: string;
  /**
   * The `webhook-id` header: the same for every attempt of this delivery, so
   * that a receiver drops duplicates by it; another delivery (another event,
   * or the same one after a dead-letter replay) has another.
   */
  readonly wid: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

export function encodeWebhookDelivery(delivery: WebhookDelivery): string {
  const { id, event, url, wid, attempt } = delivery;
  return JSON.stringify({ id, event, url, wid, attempt });
}

/** Reads a member of the deliveries set; undefined for one foretell did not write. */
export function decodeWebhookDelivery(member: string): WebhookDelivery | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(member);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { id, event, url, wid, attempt } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || typeof url !== 'string' || typeof wid !== 'string') return undefined;
  if (event !== 'start' && event !== 'completed') return undefined;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) return undefined;
  return { id, event, url, wid, attempt };
}
