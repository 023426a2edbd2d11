import {
  createLookupGate,
  createMetricsRegistry,
  redisKeys,
  systemLookup,
  registerQueueMetrics,
  type LookupAll,
  type Model,
  type Registry,
  type Tracing,
} from '@foretell/shared';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Redis } from 'ioredis';
import { installAccessControl } from './auth/access-control.js';
import type { ApiConfig } from './config.js';
import { dashboard } from './dashboard/dashboard-plugin.js';
import { drainOnClose } from './drain-on-close.js';
import { answerFrameworkError, installErrorHandling } from './error-handler.js';
import { capConnections, httpEdgeOptions, type HttpEdgeConfig } from './http-edge.js';
import { createJobStore } from './job-store.js';
import { createHttpMetrics } from './metrics/http-metrics.js';
import { createPredictionMetrics } from './metrics/prediction-metrics.js';
import { registerOpenApi } from './openapi.js';
import { buildSerializer } from './serializer-compiler.js';
import { typeBoxValidatorCompiler } from './validator-compiler.js';
import { createJobNotifier, type JobNotifier } from './waiting/job-notifier.js';
import { formatValidationErrors } from './validation-messages.js';
import { createPredictionService } from './prediction-service.js';
import { createReplicaWait } from './replica-wait.js';
import { echoRequestId, requestIdOf } from './request-id.js';
import { healthRoutes } from './routes/health-routes.js';
import { installHttpSpans } from './tracing/http-spans.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { predictRoutes } from './routes/predict-routes.js';
import { registerWaiterMetrics } from './metrics/waiter-metrics.js';
import { registerWebhookLookupMetrics } from './metrics/webhook-lookup-metrics.js';
import { namedPlugin } from './named-plugin.js';

/**
 * Webhook submissions waiting for a DNS lookup thread (lookup-gate.ts); past
 * it they are 503 WEBHOOK_LOOKUPS_BUSY. Each one holds a socket; at two
 * lookups at once and tens of ms each, the last waits about a second.
 */
const WEBHOOK_LOOKUPS_MAX_WAITING = 64;

export interface AppDeps {
  readonly config: Pick<
    ApiConfig,
    | 'KEY_PREFIX'
    | 'RESULT_TTL_SECONDS'
    | 'SYNC_TIMEOUT_MS'
    | 'BODY_LIMIT_BYTES'
    | 'MAX_QUEUE_LENGTH'
    | 'MAX_SYNC_IN_FLIGHT'
  > &
    Partial<
      Pick<ApiConfig, 'RATE_LIMIT_PER_MINUTE' | 'MAX_JOBS_PER_KEY' | 'DOCS_PUBLIC' | 'MAX_QUEUE_BYTES' | 'DASHBOARD'>
    > &
    Partial<Pick<ApiConfig, 'REDIS_WAIT_REPLICAS' | 'REDIS_WAIT_TIMEOUT_MS'>> &
    Partial<Pick<ApiConfig, 'MAX_WAIT_SECONDS' | 'MAX_WAITERS'>> &
    Partial<Pick<ApiConfig, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE' | 'WEBHOOK_MAX_PENDING'>> &
    HttpEdgeConfig;
  /** API keys (from API_KEYS or API_KEYS_FILE); none or absent: /predict is open. */
  readonly apiKeys?: readonly string[];
  /**
   * Commands connection; the app never closes it. The app opens (on the
   * first wait for a job) and closes one duplicate of it, its subscriber.
   */
  readonly redis: Redis;
  readonly model: Model;
  /**
   * Whether the model's `load()` has finished (server.ts runs it while the
   * app already answers): until then /ready and sync predictions are 503.
   * Default: loaded.
   */
  readonly isModelLoaded?: () => boolean;
  /** Defaults to no logging (tests). */
  readonly logger?: FastifyBaseLogger;
  /**
   * The registry /metrics serves; server.ts gives one with the process
   * metrics. Default: a registry of this app's own metrics only.
   */
  readonly metrics?: Registry;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is (server.ts loads it): spans of requests, enqueues, model calls. */
  readonly tracing?: Tracing;
  /** How webhook hosts are resolved at submission (tests); the system's resolver by default. */
  readonly webhookLookup?: LookupAll;
}

/**
 * Builds the HTTP app. It never listens, reads the environment or handles
 * signals: server.ts does, and tests call this with their own Redis.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  return (await buildAppWithNotifier(deps)).app;
}

type ValidatorFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;
// Fastify types the factory for Ajv's compilers; ours checks the same route schemas.
const typeBoxValidatorFactory = (() => typeBoxValidatorCompiler) as unknown as ValidatorFactory;

/** buildApp, with the app's job notifier too (tests count its waiters). */
export async function buildAppWithNotifier({
  config,
  redis,
  model,
  logger,
  apiKeys = [],
  isModelLoaded = () => true,
  metrics = createMetricsRegistry({ processMetrics: false }),
  tracing,
  webhookLookup,
}: AppDeps): Promise<{ app: FastifyInstance; notifier: JobNotifier }> {
  const http = createHttpMetrics(metrics);
  const app = Fastify({
    ...httpEdgeOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    return503OnClosing: false,
    frameworkErrors(error, request, reply) {
      http.timeUnmatched(request, reply);
      answerFrameworkError(error, request, reply);
    },
    schemaErrorFormatter: formatValidationErrors,
    // Any id, however long, is "not found" rather than 414: the URL is
    // already bounded by Node's header size limit (16 KiB).
    routerOptions: { maxParamLength: 16 * 1024 },
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // One log line per request and per response only at LOG_LEVEL=debug (or trace):
    // at info they would cost more than serving the request. Errors are logged
    // by the error handler at any level.
    logController: new LogController({ disableRequestLogging: !['debug', 'trace'].includes(logger?.level ?? '') }),
    // X-Request-Id is read by requestIdOf, which refuses what is not a safe id; Fastify would take any value.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Our TypeBox check validates every part of every route. Given as the
    // factory (not with setValidatorCompiler), it also keeps Fastify from
    // loading and setting up Ajv, which it would never use: about 5% of every
    // start's CPU.
    // Each distinct response schema is compiled once per process (serializer-compiler.ts).
    schemaController: { compilersFactory: { buildValidator: typeBoxValidatorFactory, buildSerializer } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  capConnections(app, config);
  if (tracing) installHttpSpans(app, tracing);
  http.install(app);

  // JSON only: without this, Fastify parses text/plain too, and a plain-text
  // body would be a 400 instead of the contract's 415.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app, http.timeUnmatched);
  const keys = redisKeys(config.KEY_PREFIX);
  const notifier = createJobNotifier({
    redis,
    channels: { started: keys.started, finished: keys.done },
    maxWaiters: config.MAX_WAITERS ?? 10000,
    log: app.log,
  });
  registerWaiterMetrics(metrics, notifier);
  // One gate per process: every request's lookups share its bound on threads and waiters.
  const webhookLookups = createLookupGate(webhookLookup ?? systemLookup, { maxWaiting: WEBHOOK_LOOKUPS_MAX_WAITING });
  registerWebhookLookupMetrics(metrics, webhookLookups);
  // Waiting requests are answered before the drain waits for them; the subscriber closes with the app.
  // Its hook, the only global onRequest hook, also echoes the request id (even on a SHUTTING_DOWN answer).
  drainOnClose(app, { onClosing: () => notifier.closing(), onEveryRequest: echoRequestId });
  app.addHook('onClose', () => notifier.close());
  const access = installAccessControl(app, redis, {
    apiKeys,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE ?? 0,
    maxJobsPerKey: config.MAX_JOBS_PER_KEY ?? 0,
    rateLimitPrefix: redisKeys(config.KEY_PREFIX).rateLimits,
  });
  await registerOpenApi(app, {
    bearerAuth: access !== undefined,
    ...(access && config.DOCS_PUBLIC === 'false' && { docsHook: access.requireKey }),
  });

  registerQueueMetrics(metrics, redis, keys, {
    onError: (error) => app.log.warn({ err: error }, 'queue metrics: Redis did not answer'),
  });
  // Every sync call of the model is timed by the prediction service, as jobs' are in the consumer.
  const served = tracing ? tracing.traceModel(model) : model;
  const store = createJobStore(redis, keys, {
    resultTtlSeconds: config.RESULT_TTL_SECONDS,
    maxQueueLength: config.MAX_QUEUE_LENGTH,
    maxQueueBytes: config.MAX_QUEUE_BYTES ?? 0,
    maxPendingWebhooks: config.WEBHOOK_MAX_PENDING ?? 0,
    ...(tracing && { tracing }),
  });
  const predictions = createPredictionService({
    model: served,
    isModelLoaded,
    metrics: createPredictionMetrics(metrics),
    store,
    syncTimeoutMs: config.SYNC_TIMEOUT_MS,
    maxSyncInFlight: config.MAX_SYNC_IN_FLIGHT,
    ...(config.REDIS_WAIT_REPLICAS && {
      replicaWait: createReplicaWait(redis, config.REDIS_WAIT_REPLICAS, config.REDIS_WAIT_TIMEOUT_MS ?? 500),
    }),
  });
  await app.register(namedPlugin('predict-routes', predictRoutes), {
    predictions,
    access,
    model,
    waiting: { notifier, maxWaitSeconds: config.MAX_WAIT_SECONDS ?? 60 },
    webhooks: {
      enabled: (config.WEBHOOK_SECRET ?? '') !== '',
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE === 'true',
      lookup: webhookLookups.lookup,
    },
  });
  await app.register(namedPlugin('health-routes', healthRoutes), { store, isModelLoaded });
  await app.register(namedPlugin('metrics-routes', metricsRoutes), { registry: metrics });
  // On unless DASHBOARD=false (absent: on, as the configuration's default).
  if (config.DASHBOARD !== 'false') {
    await app.register(namedPlugin('dashboard', dashboard), {
      redis,
      keys,
      store,
      resultTtlSeconds: config.RESULT_TTL_SECONDS,
      access,
    });
  }
  return { app, notifier };
}
