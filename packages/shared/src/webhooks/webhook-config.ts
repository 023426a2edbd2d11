import { Type } from '../typebox.js';
import type { ConfigCheck } from '../config-loader.js';
import { parseWebhookSecret } from './webhook-secret.js';

/** The webhook settings both apps read: the API checks targets at submission, the consumers at delivery. */
export const WebhookConfigProperties = {
  WEBHOOK_SECRET: Type.String({
    default: '',
    description:
      'Signs webhook deliveries (Standard Webhooks, HMAC-SHA256): `whsec_` then 24 to 64 random bytes in base64. Empty: webhooks are off (a request naming one is 400 `WEBHOOKS_OFF`). Set the same value on the API and the consumers.',
  }),
  WEBHOOK_ALLOW_PRIVATE: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description:
      '`true`: webhook targets may be private, loopback or link-local addresses (a receiver on your own network, tests). `false`: refused at submission (400) and again at delivery, after DNS resolution.',
  }),
};

/**
 * A WEBHOOK_SECRET that is set must have the Standard Webhooks form: checked
 * here rather than by a schema pattern, so that the error says what is wrong
 * and how to make a good one (the loader hides the value of any *SECRET).
 */
export const webhookSecretCheck: ConfigCheck<{ WEBHOOK_SECRET: string }> = ({ WEBHOOK_SECRET: secret }) => {
  if (secret === undefined || secret === '') return [];
  const parsed = parseWebhookSecret(secret);
  return parsed.ok ? [] : [`WEBHOOK_SECRET: ${parsed.error}`];
};
