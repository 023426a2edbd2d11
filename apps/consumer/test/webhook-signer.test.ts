import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseWebhookSecret, type WebhookSecret } from '@foretell/shared';
import { createWebhookSigner } from '../src/webhooks/webhook-signer.js';

// 32 random bytes, as the README tells operators to make them.
const SECRET = 'whsec_ynHqvC8J8eC6Jq6cG5N1RkO9Vt1XQ8J0mT9S1rmGZtY=';

function accepted(text: string): WebhookSecret {
  const result = parseWebhookSecret(text);
  if (!result.ok) throw new Error(result.error);
  return result.secret;
}

describe('parseWebhookSecret', () => {
  it.each([
    ['24 bytes', `whsec_${Buffer.alloc(24, 1).toString('base64')}`],
    ['32 bytes', SECRET],
    ['64 bytes', `whsec_${Buffer.alloc(64, 7).toString('base64')}`],
  ])('accepts %s of base64 after whsec_', (_, text) => {
    expect(parseWebhookSecret(text)).toEqual({ ok: true, secret: text });
  });

  const secretPart = 'ynHqvC8J8eC6Jq6cG5N1RkO9Vt1XQ8J0mT9S1rmGZtY=';
  it.each([
    ['no prefix', secretPart, /must start with "whsec_"/],
    ['another prefix', `whsk_${secretPart}`, /must start with "whsec_"/],
    ['nothing after the prefix', 'whsec_', /standard base64/],
    ['a trailing newline', `${SECRET}\n`, /standard base64/],
    ['a space inside', `whsec_ynHqvC8J 8eC6Jq6cG5N1RkO9Vt1XQ8J0mT9S1rmGZtY=`, /standard base64/],
    ['base64url characters', `whsec_${'-_'.repeat(16)}`, /standard base64/],
    ['missing padding', SECRET.slice(0, -1), /standard base64/],
    ['too few bytes (16)', `whsec_${Buffer.alloc(16, 1).toString('base64')}`, /24 to 64 bytes, not 16/],
    ['too many bytes (65)', `whsec_${Buffer.alloc(65, 1).toString('base64')}`, /24 to 64 bytes, not 65/],
  ])('refuses %s, saying how to make one, without echoing it', (_, text, message) => {
    const result = parseWebhookSecret(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(message);
    expect(result.error).toContain('randomBytes(32)');
    const encoded = text.replace(/^whsec_/, '').trim();
    if (encoded.length > 4) expect(result.error).not.toContain(encoded.slice(0, 8));
  });
});

describe('createWebhookSigner', () => {
  const signer = createWebhookSigner(accepted(SECRET));
  const body = JSON.stringify({ id: 'job-1', status: 'processing' });

  it('gives the three Standard Webhooks headers, which standardwebhooks verifies', () => {
    const at = new Date();
    const headers = signer.sign('msg_1', at, body);
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs the id, the timestamp and the body: a change to any fails verification', () => {
    const headers = signer.sign('msg_1', new Date(), body);
    const verifier = new Webhook(SECRET);
    expect(() => verifier.verify(body.replace('processing', 'succeeded'), headers)).toThrow();
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    const later = String(Number(headers['webhook-timestamp']) + 1);
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': later })).toThrow();
    const otherSecret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(() => new Webhook(otherSecret).verify(body, headers)).toThrow();
  });

  it('matches the HMAC-SHA256 the spec defines, computed here with node:crypto', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`msg_1.${Math.floor(at.getTime() / 1000)}.${body}`)
      .digest('base64');
    expect(signer.sign('msg_1', at, body)['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('refuses a message id that cannot be a header value, and an invalid date', () => {
    expect(() => signer.sign('', new Date(), body)).toThrow(/message id/);
    expect(() => signer.sign('msg 1', new Date(), body)).toThrow(/message id/);
    expect(() => signer.sign('msg\r\nx: y', new Date(), body)).toThrow(/message id/);
    expect(() => signer.sign('msg_1', new Date(Number.NaN), body)).toThrow(/valid date/);
  });
});
