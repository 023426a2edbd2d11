import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { FORETELL_VERSION, Type } from '@foretell/shared';
import { AppError } from '../errors.js';
import { errorResponse, RetryAfterHeader } from '../http-schemas.js';
import type { JobStore } from '../job-store.js';

export interface HealthRoutesOptions {
  readonly store: JobStore;
  readonly isModelLoaded: () => boolean;
}

const StatusSchema = (status: string) => Type.Object({ status: Type.Literal(status) }, { additionalProperties: false });

const HealthSchema = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.String({
      description: "foretell's release (semver), as in the CHANGELOG",
      examples: [FORETELL_VERSION],
    }),
  },
  { additionalProperties: false },
);

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { store, isModelLoaded }) => {
  app.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'Liveness: the process is up and serving HTTP, and which release it runs',
        response: { 200: HealthSchema },
      },
    },
    async () => ({ status: 'ok' as const, version: FORETELL_VERSION }),
  );

  app.get(
    '/ready',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary:
          'Readiness: the model is loaded, Redis answers, is a primary (not a replica), and the consumer group exists',
        response: {
          200: StatusSchema('ready'),
          503: {
            ...errorResponse(
              'The model is still loading, Redis is unreachable or a read-only replica, or no consumer has created the group yet.',
              { error: 'The consumer group does not exist yet; start a consumer.', code: 'NOT_READY' },
            ),
            headers: RetryAfterHeader,
          },
        },
      },
    },
    async () => {
      if (!isModelLoaded()) {
        throw new AppError('NOT_READY', 'The model is still loading.', { retryAfterSeconds: 1 });
      }
      // Both in one round trip (auto-pipelining); a replica is reported first: it is the operator's problem to fix.
      const [primary, grouped] = await Promise.all([store.isPrimary(), store.isGroupPresent()]);
      if (!primary) {
        throw new AppError('NOT_READY', 'Connected to a read-only Redis replica; waiting for a primary.', {
          retryAfterSeconds: 1,
        });
      }
      if (!grouped) {
        throw new AppError('NOT_READY', 'The consumer group does not exist yet; start a consumer.', {
          retryAfterSeconds: 1,
        });
      }
      return { status: 'ready' as const };
    },
  );
};
