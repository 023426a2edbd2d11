// One delivery attempt of a webhook: a POST to vetted addresses only, ended
// by one deadline, never following redirects, and classified for the retry
// logic instead of thrown.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { FORETELL_VERSION, type ResolvedAddress } from '@foretell/shared';
import { parseRetryAfter } from './webhook-backoff.js';

/**
 * How much of a receiver's answer is read: its status is all that counts,
 * and a short body is read to its end so the receiver sees a clean close;
 * past this much, the connection is cut.
 */
export const DEFAULT_MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;
/** An attempt's error as stored and logged: enough to diagnose, bounded whatever the network said. */
const MAX_ERROR_LENGTH = 200;

/** What receivers see in User-Agent, to tell foretell's deliveries apart (every package carries foretell's one version). */
export const WEBHOOK_USER_AGENT = `foretell-webhooks/${FORETELL_VERSION}`;

export interface WebhookAttempt {
  readonly url: URL;
  /** resolveWebhookTarget's vetted addresses: the only ones connected to. */
  readonly addresses: readonly ResolvedAddress[];
  /** The JSON body, sent as these exact bytes (the signature covers them). */
  readonly body: string;
  /** The signature headers; content-type, content-length and user-agent are set here. */
  readonly headers: Readonly<Record<string, string>>;
  /** The whole attempt's deadline: connecting, TLS, sending, the answer's headers and the body read. */
  readonly timeoutMs: number;
  readonly maxResponseBytes?: number;
  /** Ends the attempt early (shutdown): its outcome is then a retry. */
  readonly signal?: AbortSignal;
}

export type WebhookOutcome =
  | { kind: 'delivered'; status: number }
  /** 410 Gone: the receiver asks never to be called again for this delivery. */
  | { kind: 'gone'; status: 410 }
  | { kind: 'retry'; status?: number; retryAfterMs?: number; error: string };

/**
 * A lookup that answers with the vetted addresses whatever it is asked, so
 * the connection goes where resolveWebhookTarget decided while the Host
 * header and TLS (SNI and the certificate check) still use the URL's name.
 * No family is set in the request, so none is filtered for here.
 */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const [first] = addresses;
    if (options.all === true)
      callback(
        null,
        addresses.map(({ address, family }) => ({ address, family })),
      );
    else if (first !== undefined) callback(null, first.address, first.family);
  };
}

function bounded(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/** A network error in a few words: its code and message (each address's, when several were tried). */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return bounded(error.errors.map(describeError).join('; '));
  }
  if (!(error instanceof Error)) return bounded(String(error));
  const code = (error as NodeJS.ErrnoException).code;
  const text = code === undefined || error.message.includes(code) ? error.message : `${code}: ${error.message}`;
  return bounded(text || 'the request failed');
}

function classify(response: IncomingMessage): WebhookOutcome {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
  const error = `the receiver answered HTTP ${status}`;
  return retryAfterMs === undefined ? { kind: 'retry', status, error } : { kind: 'retry', status, retryAfterMs, error };
}

/**
 * Makes one delivery attempt and says how it went. Network failures,
 * timeouts and every answer but 2xx and 410 are `retry` outcomes; the promise
 * rejects only on a programming error (no addresses, a bad header value).
 *
 * Each attempt has its own connection (`agent: false`), closed when the
 * attempt ends: a receiver holds no socket of ours past the deadline.
 */
export function sendWebhook(attempt: WebhookAttempt): Promise<WebhookOutcome> {
  const { url, addresses, body, headers, timeoutMs, signal } = attempt;
  const maxResponseBytes = attempt.maxResponseBytes ?? DEFAULT_MAX_WEBHOOK_RESPONSE_BYTES;
  if (addresses.length === 0) return Promise.reject(new TypeError('sendWebhook needs at least one vetted address'));
  if (!(timeoutMs > 0)) {
    return Promise.reject(new RangeError(`sendWebhook needs a positive timeoutMs, not ${timeoutMs}`));
  }

  // A bad header value throws from request(), before any timer or socket exists: the promise rejects.
  return new Promise((resolve) => {
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
      method: 'POST',
      host: hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': WEBHOOK_USER_AGENT,
      },
      agent: false,
      lookup: pinnedLookup(addresses),
    });

    // Known once the answer's headers are in; the rest of the attempt only reads (and discards) its body.
    let answered: WebhookOutcome | undefined;
    let finished = false;
    const finish = (outcome: WebhookOutcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(outcome);
    };
    const deadline = setTimeout(
      () => finish(answered ?? { kind: 'retry', error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const onAbort = () => finish(answered ?? { kind: 'retry', error: 'the attempt was aborted' });
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (error) => finish(answered ?? { kind: 'retry', error: describeError(error) }));
    request.on('response', (response) => {
      const outcome = classify(response);
      answered = outcome;
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= maxResponseBytes) finish(outcome);
      });
      response.on('end', () => finish(outcome));
      // A body cut short (by us or the receiver) changes nothing: the status was the answer.
      response.on('error', () => finish(outcome));
    });
    request.end(body);
  });
}
