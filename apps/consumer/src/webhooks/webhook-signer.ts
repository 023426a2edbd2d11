// Signs webhook deliveries the Standard Webhooks way (standardwebhooks.com),
// so receivers can verify them with any of its libraries.
import type { WebhookSecret } from '@foretell/shared';
import { Webhook } from 'standardwebhooks';

// What a message id may hold: it goes into a header and into the signed content, `id.timestamp.body`.
const MESSAGE_ID = /^[\x21-\x7e]{1,255}$/;

export type WebhookSignatureHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

export interface WebhookSigner {
  /**
   * The three Standard Webhooks headers for `body`, sent as these exact bytes.
   * `messageId` stays the same across a delivery's retries, so a receiver can
   * drop duplicates; `timestamp` is the attempt's, so its age can be checked.
   */
  sign(messageId: string, timestamp: Date, body: string): WebhookSignatureHeaders;
}

export function createWebhookSigner(secret: WebhookSecret): WebhookSigner {
  const webhook = new Webhook(secret);
  return {
    sign(messageId, timestamp, body) {
      if (!MESSAGE_ID.test(messageId)) {
        throw new TypeError('a webhook message id is 1 to 255 visible ASCII characters');
      }
      if (Number.isNaN(timestamp.getTime())) throw new TypeError('a webhook timestamp must be a valid date');
      return {
        'webhook-id': messageId,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': webhook.sign(messageId, timestamp, body),
      };
    },
  };
}
