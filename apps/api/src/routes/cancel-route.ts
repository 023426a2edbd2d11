import { CancelAcceptedSchema, CancelRefusedSchema, MESSAGES, Type } from '@foretell/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import { errorResponse, headersTooLarge, RedisUnavailableResponse, requestTimeout } from '../http-schemas.js';
import type { PredictionService } from '../prediction-service.js';

export interface CancelRouteOptions {
  readonly predictions: Pick<PredictionService, 'cancel'>;
  /** What API keys add to the route's schema (security, 401, 429), as for GET /predict/{id}. */
  readonly keyed: { readonly security?: Record<string, string[]>[]; readonly responses: Record<number, TSchema> };
}

/**
 * A cancel has nothing to say but its URL; a body some clients send anyway
 * (`{}`, or none with a JSON content type) is read up to this many bytes
 * and ignored. More is 413: nobody sends a cancel a large body but to cost
 * the server.
 */
const CANCEL_BODY_LIMIT = 1024;

const EXAMPLE_ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';

/**
 * POST /predict/{id}/cancel (cancel-job.lua does the work). Registered
 * inside the predict routes' plugin, whose hooks it inherits: API keys guard
 * it and a key cancels only its own jobs. Its own plugin scope, so that its
 * body parser (any content type, ignored) is its own.
 */
export const cancelRoute: FastifyPluginAsyncTypebox<CancelRouteOptions> = async (app, { predictions, keyed }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: CANCEL_BODY_LIMIT }, (_request, _body, done) => {
    done(null, undefined);
  });

  app.post(
    '/predict/:prediction_id/cancel',
    {
      bodyLimit: CANCEL_BODY_LIMIT,
      schema: {
        operationId: 'cancelPrediction',
        tags: ['predictions'],
        summary: 'Cancel a queued or running job',
        description:
          'A queued job never runs; a running one has its model call aborted (its consumer learns of it through ' +
          'Redis at once); one waiting for a retry is dropped. The job becomes `canceled`: `GET /predict/{id}` ' +
          'then answers 409. A job that finished in the same instant keeps its outcome (the first one wins). No ' +
          'body is needed; one sent is ignored.',
        ...(keyed.security && { security: keyed.security }),
        params: Type.Object({
          prediction_id: Type.String({ description: 'The id from the 202 answer.', examples: [EXAMPLE_ID] }),
        }),
        response: {
          200: {
            ...CancelAcceptedSchema,
            description: 'The job was queued or running, and is canceled now.',
            examples: [{ prediction_id: EXAMPLE_ID, status: 'canceled' }],
          },
          404: errorResponse(
            'No job with this id (for this API key, when keys are on): never issued, created with another key, or ' +
              'expired.',
            { error: MESSAGES.notFound },
          ),
          408: requestTimeout,
          409: {
            ...CancelRefusedSchema,
            description: 'The job had its outcome already (`status`): succeeded, failed, or canceled before.',
            examples: [{ error: MESSAGES.alreadyFinished, prediction_id: EXAMPLE_ID, status: 'succeeded' }],
          },
          413: errorResponse(`A body of more than ${CANCEL_BODY_LIMIT} bytes (none is needed).`, {
            error: 'Request body is too large.',
            code: 'BODY_TOO_LARGE',
          }),
          431: headersTooLarge,
          503: RedisUnavailableResponse,
          ...keyed.responses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.prediction_id;
      const outcome = await predictions.cancel(id, request.apiKeyId ?? undefined);
      switch (outcome.kind) {
        case 'canceled':
          return reply.send({ prediction_id: id, status: 'canceled' });
        case 'not-found':
          return reply.code(404).send({ error: MESSAGES.notFound });
        case 'finished':
          return reply.code(409).send({
            error: outcome.status === 'canceled' ? MESSAGES.canceled : MESSAGES.alreadyFinished,
            prediction_id: id,
            status: outcome.status,
          });
      }
    },
  );
};
