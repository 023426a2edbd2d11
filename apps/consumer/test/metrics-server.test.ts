import { connect, type Socket } from 'node:net';
import { createMetricsRegistry, FORETELL_VERSION } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { createMetricsServer, type MetricsServer } from '../src/metrics-server.js';

// What the consumer's metrics port holds at most (metrics-server.ts).
const MAX_CONNECTIONS = 64;

let server: MetricsServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

/** A socket to the server, resolved once connected; closed after the test. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => undefined);
    sockets.push(socket);
  });
}

describe("the consumer's metrics server", () => {
  it(`holds at most ${MAX_CONNECTIONS} sockets: one more is closed unanswered, those it holds are still served`, async () => {
    server = createMetricsServer({
      registry: createMetricsRegistry({ processMetrics: false }),
      readiness: () => ({ ready: true }),
    });
    const port = await server.listen(0, '127.0.0.1');
    const held: Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i += 1) held.push(await open(port));
    const extra = await open(port);
    let answered = '';
    extra.on('data', (chunk: Buffer) => (answered += chunk.toString()));
    extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => extra.destroyed || extra.readyState === 'closed', { what: 'the extra socket to be closed' });
    expect(answered).toBe('');
    // The sockets it holds are still served: a probe on one of them is answered.
    const [first] = held;
    let reply = '';
    first?.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    first?.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => reply.includes(`{"status":"ok","version":"${FORETELL_VERSION}"}`), {
      what: 'the answer on a held socket',
    });
    expect(reply.startsWith('HTTP/1.1 200 OK')).toBe(true);
  });

  it('closes a socket whose request does not arrive in time, headers or body, and still serves the others', async () => {
    const requestTimeoutMs = 500;
    server = createMetricsServer({
      registry: createMetricsRegistry({ processMetrics: false }),
      readiness: () => ({ ready: true }),
      requestTimeoutMs,
    });
    const port = await server.listen(0, '127.0.0.1');
    const stalled = async (start: string) => {
      const socket = await open(port);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      const sent = performance.now();
      socket.write(start);
      return { closed, sent, answer: () => answer };
    };
    // Half a header block, and whole headers with a body that never comes.
    const headers = await stalled('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const body = await stalled('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    // Node's own deadline, well before its 30 s default checking interval.
    const within = async (socket: typeof headers) => {
      const closedAt = await socket.closed;
      expect(closedAt - socket.sent).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
      expect(closedAt - socket.sent).toBeLessThan(requestTimeoutMs * 4);
    };
    await within(headers);
    expect(headers.answer()).toMatch(/^HTTP\/1\.1 408 /);
    // The routes read no body: this one is answered at once, and its socket closed all the same.
    await within(body);
    expect(body.answer()).toMatch(/^HTTP\/1\.1 200 /);
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
  });
});
