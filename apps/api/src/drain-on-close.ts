import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';

// Where a response's slot in the in-flight list is kept.
const SLOT = Symbol('foretell.drainSlot');
type TrackedResponse = ServerResponse & { [SLOT]?: number };

/**
 * Makes `app.close()` wait for in-flight requests before the server closes.
 * Node's `server.close()` only drops the keep-alive connections that are idle
 * at that moment; one still serving a request (a sync prediction waiting on
 * the model) turns idle afterwards and is left open until its keep-alive
 * timeout, so the process would not exit within the grace period. Waiting in
 * `preClose` means every connection is idle when the server closes. Meanwhile
 * new requests get 503 with our error body (the app is built with
 * `return503OnClosing: false`, whose body is not of our format).
 *
 * A request whose body is still arriving is not waited for: a client that
 * stalls its upload would hold the shutdown until the grace period ends (and
 * the process exits 1). No work has started for it; once the others are
 * answered, the server closes its socket (`forceCloseConnections`, see
 * http-edge.ts).
 *
 * `onClosing` runs as closing begins, before the wait: it answers the
 * requests that would otherwise wait for a job until their own deadline.
 *
 * `onEveryRequest` runs first in the same hook (the X-Request-Id echo): each
 * request pays for one global hook, not one per concern.
 */
export function drainOnClose(
  app: FastifyInstance,
  {
    onClosing,
    onEveryRequest,
  }: { onClosing?: () => void; onEveryRequest?: (request: FastifyRequest, reply: FastifyReply) => void } = {},
): void {
  // In-flight requests in reusable slots, the free ones on a stack. A Set
  // (an add and a delete per request) rehashes its table as its size swings
  // with the load; this costs two array writes. Its length is the most
  // requests ever in flight at once, bounded by MAX_CONNECTIONS.
  const slots: (IncomingMessage | undefined)[] = [];
  const free: number[] = [];
  let drained: (() => void) | undefined;
  let closing = false;

  // `complete`: Node has parsed the whole request, body included.
  const onlyUploadsLeft = () => {
    for (const request of slots) if (request?.complete) return false;
    return true;
  };
  // One listener for every response (`this`), not a closure per request; `on`,
  // not `once` (a response closes once, and `once` wraps the listener each time).
  function onClosed(this: TrackedResponse) {
    const slot = this[SLOT];
    // Freed once, even if 'close' were ever emitted twice: a slot on the free stack twice would be shared.
    if (slot === undefined) return;
    this[SLOT] = undefined;
    slots[slot] = undefined;
    free.push(slot);
    if (drained && onlyUploadsLeft()) drained();
  }
  // Callback style: on every request, it skips the promise an async hook costs.
  app.addHook('onRequest', (request, reply, done) => {
    onEveryRequest?.(request, reply);
    if (closing) {
      void reply.header('Connection', 'close');
      done(new AppError('SHUTTING_DOWN', undefined, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS }));
      return;
    }
    const slot = free.pop() ?? slots.length;
    slots[slot] = request.raw;
    const response: TrackedResponse = reply.raw;
    response[SLOT] = slot;
    response.on('close', onClosed);
    done();
  });

  app.addHook('preClose', async () => {
    closing = true;
    // Requests that only wait (long-poll) answer now, so that the drain below is not held by them.
    onClosing?.();
    if (onlyUploadsLeft()) return;
    app.log.info({ inFlight: slots.filter(Boolean).length }, 'waiting for in-flight requests');
    await new Promise<void>((resolve) => {
      drained = resolve;
    });
  });
}
