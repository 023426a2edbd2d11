import { Readable } from 'node:stream';
import { MESSAGES, Type } from '@foretell/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import { AppError, StoreUnavailableError, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../errors.js';
import { errorResponse, RetryAfterHeader } from '../http-schemas.js';
import type { PredictionService } from '../prediction-service.js';
import { eventsAfter, formatEvent, LAST_POSITION, stateOf, type JobState } from '../waiting/job-events.js';
import type { JobNotifier } from '../waiting/job-notifier.js';
import { watchJob } from '../waiting/job-watch.js';

/** Below the idle timeouts of common proxies (nginx's 60 s, load balancers' 60 s), with room for a lost one. */
const HEARTBEAT_MS = 15_000;

export interface EventsRouteOptions {
  readonly predictions: Pick<PredictionService, 'lookup'>;
  readonly notifier: JobNotifier;
  /** What API keys add to the route's schema (security, 401, 429), as for GET /predict/{id}. */
  readonly keyed: { readonly security?: Record<string, string[]>[]; readonly responses: Record<number, TSchema> };
}

const EXAMPLE_STREAM =
  'id: 1\nevent: queued\ndata: {"prediction_id":"3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11","status":"queued"}\n\n' +
  'id: 2\nevent: processing\ndata: {"prediction_id":"3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11","status":"processing"}\n\n' +
  ': keep-alive\n\n' +
  'id: 3\nevent: succeeded\ndata: {"prediction_id":"3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11",' +
  '"output":{"input":"hello","result":"positive"}}\n\n';

const tooManyWaiters = new AppError('TOO_MANY_WAITERS', undefined, {
  retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
});

/**
 * GET /predict/{id}/events: a job's status as server-sent events, pushed
 * through the process's job notifier (the one long-poll uses) and ended with
 * the job. Registered inside the predict routes' plugin, whose hooks it
 * inherits: API keys guard it and a job is seen only by its own key.
 */
export const eventsRoute: FastifyPluginAsyncTypebox<EventsRouteOptions> = async (
  app,
  { predictions, notifier, keyed },
) => {
  app.get(
    '/predict/:prediction_id/events',
    {
      schema: {
        operationId: 'streamPredictionEvents',
        tags: ['predictions'],
        summary: "A job's status as server-sent events, until it finishes",
        description:
          'Sends the current status at once, then each change: `queued`, `processing`, then one of `succeeded` ' +
          '(data: the body `GET /predict/{id}` answers with 200), `failed` (its 500 body) or `canceled`; then the ' +
          "stream ends. Each event's `id` is its step in the job's life (1 queued, 2 processing, 3 the end): " +
          'reconnecting with `Last-Event-ID` sends only what came after. A `: keep-alive` comment every 15 s.',
        ...(keyed.security && { security: keyed.security }),
        params: Type.Object({
          prediction_id: Type.String({
            description: 'The id from the 202 answer.',
            examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'],
          }),
        }),
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({
              pattern: '^[0-9]{1,9}$',
              description: 'The `id` of the last event received (EventSource sends it on reconnecting), e.g. `1`.',
            }),
          ),
        }),
        response: {
          200: {
            description: 'The event stream (`Cache-Control: no-cache`, `X-Accel-Buffering: no`).',
            content: {
              // The example on the media type: OpenAPI (and Swagger UI) read it there, not in a string schema.
              'text/event-stream': { schema: Type.String(), example: EXAMPLE_STREAM },
            },
          },
          400: errorResponse('(`INVALID_REQUEST`) `Last-Event-ID` is not a whole number.', {
            error: 'Invalid request: headers/last-event-id must match pattern "^[0-9]{1,9}$".',
            code: 'INVALID_REQUEST',
          }),
          404: errorResponse(
            'No job with this id (for this API key, when keys are on): never issued, created with another key, or ' +
              'expired.',
            { error: MESSAGES.notFound },
          ),
          503: {
            ...errorResponse(
              '`MAX_WAITERS` requests are waiting on jobs already (`TOO_MANY_WAITERS`), Redis is unreachable ' +
                '(`REDIS_UNAVAILABLE`), or the server is stopping (`SHUTTING_DOWN`); retry after `Retry-After` seconds.',
              // The example is the answer the docs test can provoke (Redis down); TOO_MANY_WAITERS has the same shape.
              { error: 'The queue is unavailable; retry later.', code: 'REDIS_UNAVAILABLE' },
            ),
            headers: RetryAfterHeader,
          },
          ...keyed.responses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.prediction_id;
      const ownerId = request.apiKeyId ?? undefined;
      const read = async () => stateOf(await predictions.lookup(id, ownerId), id);
      // Ids are announced as issued (lower case); the lookup reads any case.
      const watch = watchJob(notifier, id.toLowerCase());
      if (!watch) throw tooManyWaiters;
      let first: JobState | undefined;
      try {
        // Subscribed before the first read: a change after it is announced, never missed.
        await watch.subscribed().catch((error: unknown) => {
          // Redis did not confirm in time: no stream can be promised (long-poll falls back to one read instead).
          throw new StoreUnavailableError(error);
        });
        first = await read();
      } catch (error) {
        watch.stop();
        throw error;
      }
      if (first === undefined) {
        watch.stop();
        return reply.code(404).send({ error: MESSAGES.notFound });
      }

      // A Readable sent with reply.send, not reply.hijack(): Fastify still runs
      // onSend (request id) and onResponse (the route's duration metric, when
      // the stream ends), and drain-on-close sees the response close as for
      // any request. The stream ends itself on shutdown (the notifier's
      // closing() wakes it before the drain waits), so it never holds app.close().
      const stream = new Readable({ read() {} });
      let sent = Number(request.headers['last-event-id'] ?? 0);
      let heartbeat: NodeJS.Timeout | undefined;
      const end = () => {
        clearInterval(heartbeat);
        reply.raw.off('close', onHangUp);
        watch.stop();
      };
      // A client that hangs up frees its waiter and timer at once.
      const onHangUp = () => {
        end();
        stream.destroy();
      };
      const push = (state: JobState) => {
        for (const event of eventsAfter(sent, state, id)) {
          stream.push(formatEvent(event));
          sent = event.id;
        }
      };

      push(first);
      if (sent >= LAST_POSITION) {
        // Finished before (or a reconnect after the end): nothing to wait for.
        watch.stop();
        stream.push(null);
      } else {
        reply.raw.once('close', onHangUp);
        // Hung up already, while the job was read: no 'close' is to come.
        if (reply.raw.socket?.destroyed === true) onHangUp();
        heartbeat = setInterval(() => stream.push(': keep-alive\n\n'), HEARTBEAT_MS);
        void (async () => {
          try {
            while (sent < LAST_POSITION && (await watch.changed())) {
              const state = await read();
              // Expired while watched: nothing more will come.
              if (state === undefined) break;
              push(state);
            }
          } catch (err) {
            request.log.warn({ err, jobId: id }, 'live events: reading the job failed; stream ended');
          } finally {
            end();
            if (!stream.destroyed) stream.push(null);
          }
        })();
      }
      return reply
        .header('Content-Type', 'text/event-stream')
        .header('Cache-Control', 'no-cache')
        .header('X-Accel-Buffering', 'no')
        .send(stream);
    },
  );
};
