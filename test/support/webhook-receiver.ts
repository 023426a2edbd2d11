// A real HTTP server on 127.0.0.1 for the webhook tests: it records what it
// receives and which of its sockets are still open.
import { freePort } from '../../scripts/lib/free-port.mjs';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface WebhookReceiver {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>` */
  url(path?: string): URL;
  /** Requests whose body arrived, in order. */
  readonly requests: ReceivedRequest[];
  /** Connections accepted so far, and how many of them are still open. */
  connections(): { accepted: number; open: number };
  close(): Promise<void>;
}

/** Answers with `respond` once a request's body has arrived; `respond` may also never answer. */
export type Respond = (response: ServerResponse, request: ReceivedRequest) => void;

/** `port`: a given one (a receiver restarted where it was); any free one by default. */
export async function startReceiver(respond: Respond, { port: wanted = 0 } = {}): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      respond(response, received);
    });
  });
  server.on('connection', (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(wanted, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path = '/') => new URL(`http://127.0.0.1:${port}${path}`),
    requests,
    connections: () => ({ accepted, open: sockets.size }),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * A port nothing listens on, and nothing will: from below the kernel's
 * ephemeral range (free-port.mjs). A port the kernel just gave a server and
 * took back could be given again at once to any server listening on port 0
 * in a parallel test, and a connection meant to be refused would reach it.
 */
export function closedPort(): Promise<number> {
  return freePort();
}
