import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI document at /docs/json and Swagger UI at /docs. Registered
 * before the routes so that @fastify/swagger sees each of them.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'foretell',
        version: '0.1.0',
        description:
          'Serve a machine-learning model over HTTP. `POST /predict` answers with the result, or, with `Async-Mode: true`, ' +
          'queues the job on a Redis Stream and answers 202 with a `prediction_id` to poll at `GET /predict/{prediction_id}`.',
      },
      tags: [
        { name: 'predictions', description: 'Run the model, now or queued.' },
        { name: 'operations', description: 'Liveness and readiness probes.' },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: true },
  });
}
