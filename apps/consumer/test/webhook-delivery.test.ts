import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { sendWebhook, WEBHOOK_USER_AGENT, type WebhookAttempt } from '../src/webhooks/send-webhook.js';
import { parseWebhookSecret, type ResolvedAddress } from '@foretell/shared';
import { createWebhookSigner } from '../src/webhooks/webhook-signer.js';
import {
  closedPort,
  startReceiver,
  type Respond,
  type WebhookReceiver,
} from '../../../test/support/webhook-receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const LOOPBACK: readonly ResolvedAddress[] = [{ address: '127.0.0.1', family: 4 }];
const BODY = JSON.stringify({ id: 'job-1', status: 'succeeded', output: 'positive' });

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(respond: Respond): Promise<WebhookReceiver> {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
}

const answer =
  (status: number, headers: Record<string, string> = {}): Respond =>
  (response) =>
    response.writeHead(status, headers).end('ok');

/** An attempt at `url` pinned to 127.0.0.1, with a deadline no passing test reaches unless it is the subject. */
function attempt(url: URL, overrides: Partial<WebhookAttempt> = {}): WebhookAttempt {
  return { url, addresses: LOOPBACK, body: BODY, headers: {}, timeoutMs: 10_000, ...overrides };
}

/** Streams a body that never ends, as fast as the client reads it, until the connection closes. */
const endlessBody: Respond = (response) => {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  response.writeHead(200, { 'content-type': 'text/plain' });
  const pump = () => {
    while (!response.destroyed && response.write(chunk));
  };
  response.on('drain', pump);
  pump();
};

describe('sendWebhook', () => {
  it('POSTs the body once, signed so that standardwebhooks verifies it, and reports a 2xx as delivered', async () => {
    const hooks = await receiver(answer(204));
    const secret = parseWebhookSecret(SECRET);
    if (!secret.ok) throw new Error(secret.error);
    const headers = createWebhookSigner(secret.secret).sign('msg_job-1_completed', new Date(), BODY);

    const outcome = await sendWebhook(attempt(hooks.url('/hooks/foretell?tenant=7'), { headers }));

    expect(outcome).toEqual({ kind: 'delivered', status: 204 });
    expect(hooks.requests).toHaveLength(1);
    const [request] = hooks.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks/foretell?tenant=7', body: BODY });
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
      'user-agent': WEBHOOK_USER_AGENT,
      'webhook-id': 'msg_job-1_completed',
    });
    expect(WEBHOOK_USER_AGENT).toMatch(/^foretell-webhooks\/\d+\.\d+\.\d+/);
    const received = request?.headers as Record<string, string>;
    expect(new Webhook(SECRET).verify(request?.body ?? '', received)).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(SECRET).verify(`${request?.body} `, received)).toThrow(/No matching signature/);
  });

  it('reports 200 and 299 as delivered', async () => {
    for (const status of [200, 299]) {
      const hooks = await receiver(answer(status));
      expect(await sendWebhook(attempt(hooks.url()))).toEqual({ kind: 'delivered', status });
    }
  });

  it('reports 410 as gone', async () => {
    const hooks = await receiver(answer(410));
    expect(await sendWebhook(attempt(hooks.url()))).toEqual({ kind: 'gone', status: 410 });
  });

  it('reports a 503 with Retry-After: 7 as a retry after 7 s', async () => {
    const hooks = await receiver(answer(503, { 'retry-after': '7' }));
    expect(await sendWebhook(attempt(hooks.url()))).toEqual({
      kind: 'retry',
      status: 503,
      retryAfterMs: 7_000,
      error: 'the receiver answered HTTP 503',
    });
  });

  it.each([[400], [404], [429], [500]])('reports %i as a retry, with no Retry-After', async (status) => {
    const hooks = await receiver(answer(status));
    expect(await sendWebhook(attempt(hooks.url()))).toEqual({
      kind: 'retry',
      status,
      error: `the receiver answered HTTP ${status}`,
    });
  });

  it('does not follow a redirect: a 302 is a retry, and its target gets nothing', async () => {
    const target = await receiver(answer(200));
    const redirecting = await receiver(answer(302, { location: target.url('/elsewhere').href }));

    const outcome = await sendWebhook(attempt(redirecting.url()));

    expect(outcome).toMatchObject({ kind: 'retry', status: 302 });
    expect(redirecting.requests).toHaveLength(1);
    expect(target.connections().accepted).toBe(0);
  });

  it('gives up on a receiver that never answers at the deadline, and closes the connection', async () => {
    const silent = await receiver(() => {});
    const started = performance.now();

    const outcome = await sendWebhook(attempt(silent.url(), { timeoutMs: 300 }));

    const elapsed = performance.now() - started;
    expect(outcome).toEqual({ kind: 'retry', error: 'no answer within 300 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(3_000);
    expect(silent.requests).toHaveLength(1);
    await waitFor(() => silent.connections().open === 0, { what: 'the server-side socket to close', timeoutMs: 5_000 });
  });

  it('ends an attempt whose answer never ends after reading a bounded amount, long before the deadline', async () => {
    const endless = await receiver(endlessBody);
    const started = performance.now();

    const outcome = await sendWebhook(attempt(endless.url(), { timeoutMs: 30_000, maxResponseBytes: 64 * 1024 }));

    expect(outcome).toEqual({ kind: 'delivered', status: 200 });
    expect(performance.now() - started).toBeLessThan(10_000);
    await waitFor(() => endless.connections().open === 0, {
      what: 'the server-side socket to close',
      timeoutMs: 5_000,
    });
  });

  it('ends at the deadline an answer whose body trickles, keeping the status it got', async () => {
    const trickling = await receiver((response) => {
      response.writeHead(200);
      const drip = setInterval(() => response.write('.'), 10);
      response.on('close', () => clearInterval(drip));
    });

    const outcome = await sendWebhook(attempt(trickling.url(), { timeoutMs: 300 }));

    expect(outcome).toEqual({ kind: 'delivered', status: 200 });
    await waitFor(() => trickling.connections().open === 0, {
      what: 'the server-side socket to close',
      timeoutMs: 5_000,
    });
  });

  it('reports a refused connection as a retry', async () => {
    const port = await closedPort();
    const outcome = await sendWebhook(attempt(new URL(`http://127.0.0.1:${port}/`)));
    expect(outcome).toMatchObject({ kind: 'retry', error: expect.stringContaining('ECONNREFUSED') as unknown });
    expect(outcome).not.toHaveProperty('status');
  });

  it('reports a TLS failure as a retry (https to a plain-HTTP server)', async () => {
    const plain = await receiver(answer(200));
    const outcome = await sendWebhook(attempt(new URL(`https://127.0.0.1:${plain.port}/`)));
    expect(outcome.kind).toBe('retry');
    expect(outcome).not.toHaveProperty('status');
  });

  it("checks the receiver's certificate for the URL's host, which TLS names (SNI): a self-signed one is a retry", async () => {
    const fixture = (file: string) => readFileSync(new URL(`fixtures/${file}`, import.meta.url));
    const credentials = { key: fixture('hooks.example.test.key'), cert: fixture('hooks.example.test.crt') };
    const servernames: string[] = [];
    const server = createHttpsServer(
      {
        ...credentials,
        SNICallback: (servername, callback) => {
          servernames.push(servername);
          callback(null, createSecureContext(credentials));
        },
      },
      (_, response) => response.end(),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const outcome = await sendWebhook(attempt(new URL(`https://hooks.example.test:${port}/hook`)));
      expect(outcome).toMatchObject({ kind: 'retry', error: expect.stringMatching(/self-signed/) as unknown });
      expect(servernames).toEqual(['hooks.example.test']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('connects only to the vetted addresses, naming the URL host in Host (no DNS for a name that has none)', async () => {
    const hooks = await receiver(answer(200));
    const url = new URL(`http://hooks.example.test:${hooks.port}/hook`);

    expect(await sendWebhook(attempt(url))).toEqual({ kind: 'delivered', status: 200 });
    expect(hooks.requests[0]?.headers.host).toBe(`hooks.example.test:${hooks.port}`);
  });

  it('tries the next vetted address when one refuses', async () => {
    const hooks = await receiver(answer(200));
    const url = new URL(`http://hooks.example.test:${hooks.port}/hook`);
    // The receiver listens on 127.0.0.1 only: 127.0.0.2 is loopback too, and refuses.
    const addresses: ResolvedAddress[] = [
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];

    expect(await sendWebhook(attempt(url, { addresses }))).toEqual({ kind: 'delivered', status: 200 });
  });

  it('ends the attempt as a retry when its signal aborts, and closes the connection', async () => {
    const silent = await receiver(() => {});
    const controller = new AbortController();

    const pending = sendWebhook(attempt(silent.url(), { signal: controller.signal }));
    await waitFor(() => silent.requests.length === 1, { what: 'the request', timeoutMs: 5_000 });
    controller.abort();

    expect(await pending).toEqual({ kind: 'retry', error: 'the attempt was aborted' });
    await waitFor(() => silent.connections().open === 0, { what: 'the server-side socket to close', timeoutMs: 5_000 });
  });

  it('rejects a call without vetted addresses: a programming error, not a delivery failure', async () => {
    const hooks = await receiver(answer(200));
    await expect(sendWebhook(attempt(hooks.url(), { addresses: [] }))).rejects.toThrow(/at least one vetted address/);
    expect(hooks.connections().accepted).toBe(0);
  });
});
