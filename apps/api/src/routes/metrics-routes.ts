import type { Registry } from '@foretell/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export interface MetricsRoutesOptions {
  readonly registry: Registry;
}

/**
 * GET /metrics in Prometheus's text format. Open like /health even with API
 * keys on: it holds counts and timings, no inputs, results or keys, and a
 * scraper has no key. Put it behind your network's rules if that matters.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, { registry }) => {
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics: requests, predictions, the model, the queue, the process',
        produces: [registry.contentType],
        response: {
          200: {
            description: 'The exposition text format (version 0.0.4).',
            content: { [registry.contentType]: { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
