import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { errorResponse, RetryAfterHeader } from '../http-schemas.js';
import type { JobStore } from '../job-store.js';

export interface HealthRoutesOptions {
  readonly store: JobStore;
}

const StatusSchema = (status: string) => Type.Object({ status: Type.Literal(status) }, { additionalProperties: false });

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { store }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up and serving HTTP',
        response: { 200: StatusSchema('ok') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: Redis answers and the consumer group exists',
        response: {
          200: StatusSchema('ready'),
          503: {
            ...errorResponse('Redis is unreachable, or no consumer has created the group yet.', {
              error: 'The consumer group does not exist yet; start a consumer.',
              code: 'NOT_READY',
            }),
            headers: RetryAfterHeader,
          },
        },
      },
    },
    async () => {
      if (!(await store.isGroupPresent())) {
        throw new AppError('NOT_READY', 'The consumer group does not exist yet; start a consumer.', {
          retryAfterSeconds: 1,
        });
      }
      return { status: 'ready' as const };
    },
  );
};
