import type { FastifyInstance } from 'fastify';
import { AppError, UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';

/**
 * Makes `app.close()` wait for in-flight requests before the server closes.
 * Node's `server.close()` only drops the keep-alive connections that are idle
 * at that moment; one still serving a request (a sync prediction waiting on
 * the model) turns idle afterwards and is left open until its keep-alive
 * timeout, so the process would not exit within the grace period. Waiting in
 * `preClose` means every connection is idle when the server closes. Meanwhile
 * new requests get 503 with our error body (the app is built with
 * `return503OnClosing: false`, whose body is not of our format).
 */
export function drainOnClose(app: FastifyInstance): void {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let closing = false;

  const onClosed = () => {
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };
  // Callback style: on every request, it skips the promise an async hook costs.
  app.addHook('onRequest', (_request, reply, done) => {
    if (closing) {
      void reply.header('Connection', 'close');
      done(new AppError('SHUTTING_DOWN', undefined, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS }));
      return;
    }
    inFlight += 1;
    reply.raw.once('close', onClosed);
    done();
  });

  app.addHook('preClose', async () => {
    closing = true;
    if (inFlight === 0) return;
    app.log.info({ inFlight }, 'waiting for in-flight requests');
    await new Promise<void>((resolve) => {
      drained = resolve;
    });
  });
}
