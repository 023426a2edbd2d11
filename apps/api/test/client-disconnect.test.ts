import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mockResult } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';
import { heldModel, type HeldModel } from '../../../test/support/held-model.js';

const ctx = useTestApp();

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** Listens on a loopback port with a held model, and opens a raw client socket to it (and gives the server's end). */
async function listeningWithClient(): Promise<{ model: HeldModel; client: Socket; server: Socket }> {
  const model = heldModel();
  await ctx.rebuild({ model });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = ctx.app.server.address() as AddressInfo;
  const accepted = once(ctx.app.server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  sockets.push(client);
  await once(client, 'connect');
  const [server] = await accepted;
  return { model, client, server };
}

function sendSyncPredict(client: Socket, input: string): void {
  const body = JSON.stringify({ input });
  client.write(
    'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

describe('a sync request whose client goes away', () => {
  it('aborts the model call, with the reason', async () => {
    const { model, client } = await listeningWithClient();
    sendSyncPredict(client, 'abandoned');
    const call = await model.called;
    expect(call.input).toBe('abandoned');
    expect(call.signal.aborted).toBe(false);

    const aborted = once(call.signal, 'abort');
    client.destroy();
    // Only the server noticing the closed socket can abort it: the model is held until the test releases it.
    await aborted;
    expect(call.signal.reason).toEqual(new Error('client closed the connection'));
    // The app is still serving, and closes (the afterEach) with nothing left in flight.
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('does not abort a call whose answer was sent before the client left', async () => {
    const { model, client, server } = await listeningWithClient();
    const serverSideClosed = once(server, 'close');
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    sendSyncPredict(client, 'answered');
    const call = await model.called;
    model.releaseAll();
    const answer = JSON.stringify({ input: 'answered', result: mockResult('answered') });
    await new Promise<void>((resolve) => client.on('data', () => received.endsWith(answer) && resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);

    client.destroy();
    await serverSideClosed;
    expect(call.signal.aborted).toBe(false);
  });
});
