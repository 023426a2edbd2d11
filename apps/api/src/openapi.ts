import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { FORETELL_VERSION } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { AccessHook } from './auth/access-control.js';

/** The security scheme the /predict routes name when API keys are on. */
export const BEARER_SCHEME = 'apiKey';

export interface OpenApiOptions {
  /**
   * API keys are on: the document declares the bearer scheme, which gives
   * Swagger UI its "Authorize" button. Off, the document is the open one.
   */
  readonly bearerAuth?: boolean;
  /** Run before every Swagger UI route and /docs/json (DOCS_PUBLIC=false: the key check). */
  readonly docsHook?: AccessHook;
}

/**
 * The OpenAPI document at /docs/json and Swagger UI at /docs. Registered
 * before the routes so that @fastify/swagger sees each of them.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions = {}): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      ...(options.bearerAuth && {
        components: {
          securitySchemes: {
            [BEARER_SCHEME]: {
              type: 'http',
              scheme: 'bearer',
              description:
                'One of the keys in `API_KEYS` or `API_KEYS_FILE`, sent as `Authorization: Bearer <key>`. ' +
                'A job is visible only to the key that created it.',
            },
          },
        },
      }),
      info: {
        title: 'foretell',
        version: FORETELL_VERSION,
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
        description:
          'Serve a machine-learning model over HTTP. `POST /predict` answers with the result, or, with `Async-Mode: true`, ' +
          'queues the job on a Redis Stream and answers 202 with a `prediction_id` to poll at `GET /predict/{prediction_id}`.',
      },
      // The first server is the one that serves this document, wherever it runs (Swagger UI's
      // default); the second is `npm start`'s and docker compose's address, for generated clients.
      servers: [
        { url: '/', description: 'The server that serves this document' },
        { url: 'http://localhost:8080', description: '`npm start` or `docker compose up` on this machine' },
      ],
      // Open unless an operation says otherwise: with API keys on, the /predict and dashboard data
      // operations name the bearer scheme; the probes, /metrics and the docs stay open.
      security: [],
      tags: [
        {
          name: 'predictions',
          description:
            'Run the model now, or queue it (`Async-Mode: true`) and read, wait for, follow or cancel the job by its id.',
        },
        {
          name: 'operations',
          description: 'Liveness and readiness probes and Prometheus metrics, for orchestrators and monitoring.',
        },
        {
          name: 'dashboard',
          description:
            'The dashboard page at /dashboard and the JSON it polls: the queue, consumers, dead letters, jobs.',
        },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: true },
    // Fastify awaits a hook that returns a promise; @fastify/swagger-ui's types name only the callback form.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    ...(options.docsHook && { uiHooks: { onRequest: options.docsHook } }),
  });
}
