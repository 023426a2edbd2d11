// WEBHOOK_SECRET, the Standard Webhooks way (standardwebhooks.com): checked
// where each app reads its configuration, used by the consumers to sign.

const SECRET_PREFIX = 'whsec_';
// The spec asks for 24 to 64 random bytes: fewer are guessable, more add nothing to HMAC-SHA256.
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOW_TO_MAKE_ONE = `make one with: node -p "'whsec_' + crypto.randomBytes(32).toString('base64')"`;

/** A `whsec_<base64>` secret that parseWebhookSecret accepted. */
export type WebhookSecret = string & { readonly __brand: 'WebhookSecret' };

export type WebhookSecretResult = { ok: true; secret: WebhookSecret } | { ok: false; error: string };

/**
 * Checks a WEBHOOK_SECRET: `whsec_` then 24 to 64 bytes in standard base64.
 * The error says what is wrong and how to make a good one, never the secret.
 */
export function parseWebhookSecret(text: string): WebhookSecretResult {
  if (!text.startsWith(SECRET_PREFIX)) {
    return { ok: false, error: `must start with "${SECRET_PREFIX}" followed by base64; ${HOW_TO_MAKE_ONE}` };
  }
  const encoded = text.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded) || encoded === '') {
    return {
      ok: false,
      error: `after "${SECRET_PREFIX}" must come standard base64 (A-Z a-z 0-9 + /, padded with =, no spaces); ${HOW_TO_MAKE_ONE}`,
    };
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    return {
      ok: false,
      error: `must encode ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${bytes}; ${HOW_TO_MAKE_ONE}`,
    };
  }
  return { ok: true, secret: text as WebhookSecret };
}
