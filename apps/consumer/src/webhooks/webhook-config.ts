// The consumer's webhook settings: the WEBHOOK_* variables both apps read
// (WebhookConfigProperties, shared) and those only the consumers do, read
// and checked the way config.ts reads the others (one ConfigError naming
// every bad one).
import {
  loadConfig,
  parseWebhookSecret,
  WebhookConfigProperties,
  webhookSecretCheck,
  type WebhookSecret,
  Type,
} from '@foretell/shared';
import type { Static, TProperties } from 'typebox';

/** How a consumer delivers: spread into ConsumerConfigSchema beside the shared WebhookConfigProperties. */
export const WebhookDeliveryConfigProperties = {
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({
    default: 8,
    minimum: 1,
    maximum: 100,
    description: 'Attempts per webhook delivery, the first included, before it is recorded as failed.',
  }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({
    default: 10000,
    minimum: 100,
    maximum: 120000,
    description: "One delivery attempt's deadline: connecting, TLS, sending and the answer.",
  }),
  WEBHOOK_CONCURRENCY: Type.Integer({
    default: 16,
    minimum: 1,
    // claim-webhooks.ts's MAX_WEBHOOK_CLAIM: one claim fills every free slot.
    maximum: 1000,
    description: 'Webhook attempts one consumer makes at once, apart from its jobs.',
  }),
  WEBHOOK_FAILURES_MAX_LENGTH: Type.Integer({
    default: 10000,
    minimum: 1,
    maximum: 10000000,
    description:
      'Failed webhook deliveries kept on `{prefix}:webhook-failures`; older ones are trimmed (approximately, `XADD MAXLEN ~`).',
  }),
} satisfies TProperties;

const ConsumerWebhookConfigSchema = Type.Object({ ...WebhookConfigProperties, ...WebhookDeliveryConfigProperties });
export type ConsumerWebhookConfig = Readonly<Static<typeof ConsumerWebhookConfigSchema>>;

/** The WEBHOOK_* variables alone, for a caller that does not load them with the rest of the consumer's. */
export function loadWebhookConfig(env: Readonly<Record<string, string | undefined>>): ConsumerWebhookConfig {
  return loadConfig(ConsumerWebhookConfigSchema, env, [webhookSecretCheck]);
}

/** What the deliverer takes from the configuration (webhook-deliverer.ts has the rest of its settings). */
export interface WebhookConfigSettings {
  readonly secret: WebhookSecret;
  readonly maxAttempts: number;
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly failuresMaxLength: number;
}

/**
 * The deliverer's settings from a loaded configuration (this file's, or the
 * consumer's with these properties), or undefined when WEBHOOK_SECRET is
 * unset: webhooks are off, since an unsigned delivery could not be trusted.
 */
export function webhookSettings(config: ConsumerWebhookConfig): WebhookConfigSettings | undefined {
  if (config.WEBHOOK_SECRET === '') return undefined;
  const parsed = parseWebhookSecret(config.WEBHOOK_SECRET);
  // webhookSecretCheck refused a bad one at load: reaching this is a caller that skipped it.
  if (!parsed.ok) throw new TypeError(`WEBHOOK_SECRET was not checked at load: ${parsed.error}`);
  return {
    secret: parsed.secret,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE === 'true',
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    failuresMaxLength: config.WEBHOOK_FAILURES_MAX_LENGTH,
  };
}
