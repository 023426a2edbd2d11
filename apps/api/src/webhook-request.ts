import {
  DEFAULT_WEBHOOK_EVENTS,
  parseWebhookUrl,
  resolveWebhookTarget,
  WebhookTargetError,
  type JobWebhook,
  type LookupAll,
  type WebhookEvent,
} from '@foretell/shared';
import { AppError } from './errors.js';

/** The webhook fields of a POST /predict body, as its schema let them through. */
export interface WebhookFields {
  readonly webhook?: string;
  readonly webhook_events_filter?: readonly WebhookEvent[];
}

export interface WebhookRequestSettings {
  /** WEBHOOK_SECRET is set: the consumers can sign deliveries. */
  readonly enabled: boolean;
  /** WEBHOOK_ALLOW_PRIVATE. */
  readonly allowPrivate: boolean;
  /** DNS, for the tests; the system's resolver otherwise. */
  readonly lookup?: LookupAll;
}

const invalid = (message: string) => new AppError('INVALID_WEBHOOK', message);

/** Whether a body asks for a webhook at all: the only bodies checkWebhookRequest has work for. */
export function namesWebhook(fields: WebhookFields): boolean {
  return fields.webhook !== undefined || fields.webhook_events_filter !== undefined;
}

/**
 * The webhook an async request asks for, checked as the consumers will check
 * it again before each delivery: its URL's rules, and its host resolving to
 * public addresses only (unless WEBHOOK_ALLOW_PRIVATE). Undefined without one.
 * Throws a 400 that says what is wrong.
 */
export async function checkWebhookRequest(
  fields: WebhookFields,
  asyncMode: boolean,
  settings: WebhookRequestSettings,
): Promise<JobWebhook | undefined> {
  const { webhook, webhook_events_filter: filter } = fields;
  if (webhook === undefined) {
    if (filter !== undefined) throw invalid('webhook_events_filter needs a webhook.');
    return undefined;
  }
  if (!asyncMode) throw invalid('A webhook is for async requests: send Async-Mode: true.');
  if (!settings.enabled) throw new AppError('WEBHOOKS_OFF');
  const parsed = parseWebhookUrl(webhook);
  if (!parsed.ok) throw invalid(sentence(parsed.error));
  try {
    await resolveWebhookTarget(parsed.url, {
      allowPrivate: settings.allowPrivate,
      ...(settings.lookup && { lookup: settings.lookup }),
    });
  } catch (error) {
    if (error instanceof WebhookTargetError && error.problem === 'busy') {
      throw new AppError('WEBHOOK_LOOKUPS_BUSY', undefined, { cause: error, retryAfterSeconds: 1 });
    }
    if (error instanceof WebhookTargetError) throw invalid(sentence(error.message));
    throw error;
  }
  return { url: parsed.url.href, events: filter ?? DEFAULT_WEBHOOK_EVENTS };
}

/** Error bodies are sentences ending in a period. */
function sentence(text: string): string {
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
