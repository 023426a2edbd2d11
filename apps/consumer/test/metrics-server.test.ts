import { connect, type Socket } from 'node:net';
import { createMetricsRegistry } from '@foretell/shared';
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
    await waitFor(() => reply.includes('{"status":"ok"}'), { what: 'the answer on a held socket' });
    expect(reply.startsWith('HTTP/1.1 200 OK')).toBe(true);
  });
});
