import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/** How much of a refused body is still read, and for how long, before the socket is closed anyway. */
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;
export const LINGER_MAX_MS = 5000;

/**
 * Closes the connection of a refused upload (413, sent with `Connection:
 * close`) the way nginx's lingering close does. Node ends such a response with
 * `socket.destroySoon()`: the socket closes as soon as the answer is flushed,
 * while the client is still sending its body, and its next write meets a reset
 * (undici's fetch then reports EPIPE instead of the 413). Here only our side
 * is ended after the answer (HTTP sockets are half-open), and the rest of the
 * body is read and dropped until the client closes, or up to
 * LINGER_MAX_BYTES / LINGER_MAX_MS, whichever comes first: bounded work for a
 * client that never stops sending.
 */
export function lingerBeforeClose(request: IncomingMessage): void {
  const socket = request.socket;
  // app.inject has no socket of ours to keep open.
  if (!(socket instanceof Socket) || socket.destroyed) return;
  const close = () => socket.destroy();
  const timer = setTimeout(close, LINGER_MAX_MS);
  socket.once('close', () => clearTimeout(timer));
  (socket as Socket & { destroySoon: () => void }).destroySoon = () => socket.end();
  let discarded = 0;
  // Reading it ourselves also keeps Node from dumping the body with our listener removed.
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) close();
  });
  request.resume();
}
