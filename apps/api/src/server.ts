import { hostname } from 'node:os';
import {
  ConfigError,
  createMetricsRegistry,
  createProcessLogger,
  loadFailureMessage,
  loadModel,
  loadTracing,
  workerCount,
} from '@foretell/shared';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadApiKeys } from './auth/access-config.js';
import { loadApiConfig } from './config.js';
import { createApiRedis } from './redis-connection.js';

// The one impure entrypoint: reads the environment, opens Redis, listens,
// and shuts down in order on SIGINT/SIGTERM (a second signal forces exit).
const { config, apiKeys } = (() => {
  try {
    const config = loadApiConfig(process.env);
    // API_KEYS_FILE is read here with the rest of the configuration: a bad key file fails the start the same way.
    return { config, apiKeys: loadApiKeys(config) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`foretell api: ${error.message}\n`);
    process.exit(1);
  }
})();
const log = createProcessLogger('api', config.LOG_LEVEL);
// Undefined without OTEL_EXPORTER_OTLP_ENDPOINT: then no OpenTelemetry module is loaded at all.
const tracing = await loadTracing(config, 'foretell-api', log);
// A model module that does not fit fails the start with one line saying why, as a bad setting does.
const model = await loadModel({ ...config, MODEL_WORKERS: workerCount(config.MODEL_WORKERS) }).catch(
  (error: unknown) => {
    process.stderr.write(`foretell api: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
const redis = createApiRedis(config.REDIS_URL, config.REDIS_TIMEOUT_MS, log, config);
// Named, so that CLIENT LIST shows which process holds a connection. ioredis
// sends the name on every (re)connect, and the first one happens after this tick.
redis.options.connectionName = `foretell-api:${hostname()}-${process.pid}`;
// The model loads while the API already answers: /ready and sync requests
// say 503 until it has, async requests are queued meanwhile. A load that
// fails stops the process with one line, as a module that does not fit does.
let modelLoaded = model.load === undefined;
const app = await buildApp({
  config,
  redis,
  model,
  logger: log,
  apiKeys,
  isModelLoaded: () => modelLoaded,
  metrics: createMetricsRegistry({ processMetrics: true }),
  ...(tracing && { tracing }),
});
if (!modelLoaded) {
  void (async () => {
    try {
      await model.load?.();
    } catch (error) {
      process.stderr.write(`foretell api: ${loadFailureMessage(config, error)}\n`);
      process.exit(1);
    }
    modelLoaded = true;
    log.info({ model: model.name, version: model.version }, 'model loaded');
  })();
}

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an unexpected error');
  else log.info({ signal }, 'shutting down: draining in-flight requests');
  await app.close();
  // After the last request: nothing calls the model any more.
  await Promise.resolve(model.close?.()).catch((error: unknown) => log.warn({ err: error }, 'model close failed'));
  await redis.quit().catch((error: unknown) => log.warn({ err: error }, 'redis quit failed'));
  // After the last request: every span has ended, and is exported now.
  await tracing?.shutdown();
  log.info('stopped');
});

// Serve even if Redis is not up yet: /ready and 503s say so until it is.
// Not `once(redis, 'ready')`: it rejects on the first connection error, and
// that rejection would end the process (a crash loop while Redis starts).
if (redis.status !== 'ready') {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
await app.listen({ port: config.PORT, host: config.HOST });
