import { hostname } from 'node:os';
import {
  ConfigError,
  createMetricsRegistry,
  createProcessLogger,
  createRedisConnection,
  loadFailureMessage,
  loadModel,
  loadTracing,
  workerCount,
  redisKeys,
  registerQueueMetrics,
  timedModel,
} from '@foretell/shared';
import closeWithGrace from 'close-with-grace';
import { loadConsumerConfig } from './config.js';
import { registerConsumerMetrics } from './consumer-metrics.js';
import { createMetricsServer, type Readiness } from './metrics-server.js';
import { shutDown } from './shutdown.js';
import { createStatsPublisher } from './stats-publisher.js';
import { createConsumer } from './stream-consumer.js';
import { webhookSettings } from './webhooks/webhook-config.js';
import { createWebhookDeliverer, warnOfUnsentWebhooks } from './webhooks/webhook-deliverer.js';
import { registerWebhookMetrics } from './webhooks/webhook-metrics.js';

// The consumer's one impure entrypoint: reads the environment, opens Redis,
// starts consuming, and on SIGINT/SIGTERM drains before exiting 0.
const config = (() => {
  try {
    return loadConsumerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`foretell consumer: ${error.message}\n`);
    process.exit(1);
  }
})();
const log = createProcessLogger('consumer', config.LOG_LEVEL);
// Undefined without OTEL_EXPORTER_OTLP_ENDPOINT: then no OpenTelemetry module is loaded at all.
const tracing = await loadTracing(config, 'foretell-consumer', log);
const metrics = createMetricsRegistry({ processMetrics: true });
// A module that cannot be loaded is a setting to fix: one line, as the API says it, not a stack.
const loaded = await loadModel({ ...config, MODEL_WORKERS: workerCount(config.MODEL_WORKERS) }).catch(
  (error: unknown) => {
    process.stderr.write(`foretell consumer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
// Every call of the model is timed (foretell_model_duration_seconds).
const timed = timedModel(loaded, metrics);
const model = tracing ? tracing.traceModel(timed) : timed;

// With worker threads or batches, no more jobs are taken than the model runs
// at once and as much again (Model.capacity): an entry claimed but waiting for
// a thread would only age toward CLAIM_IDLE_MS and be reclaimed by another consumer.
const concurrency = Math.min(config.CONSUMER_CONCURRENCY, model.capacity ?? Number.POSITIVE_INFINITY);

const consumerName = config.CONSUMER_NAME || `${hostname()}-${process.pid}`;

// Commands wait through a Redis outage (retried after reconnecting) rather
// than fail: a finished job's result is worth keeping. A READONLY reply (a
// failover demoted the node) reconnects to the primary and resends; the
// blocking reader, a duplicate of this connection, does the same.
const redis = createRedisConnection(
  config,
  {
    // Named, so that CLIENT LIST shows which process holds a connection.
    connectionName: `foretell-consumer:${consumerName.replace(/[^\w.:-]/g, '_')}`,
    maxRetriesPerRequest: null,
    // Jobs finishing in the same tick share one write to Redis.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  },
  log,
);
redis.on('error', (err) => log.warn({ err }, 'redis connection error'));

const keys = redisKeys(config.KEY_PREFIX);
const consumer = createConsumer({
  redis,
  model,
  keys,
  log,
  settings: {
    name: consumerName,
    concurrency,
    blockMs: config.CONSUMER_BLOCK_MS,
    resultTtlSeconds: config.RESULT_TTL_SECONDS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    retry: {
      maxAttempts: config.MAX_ATTEMPTS,
      baseDelayMs: config.RETRY_BASE_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
    },
    claimIdleMs: config.CLAIM_IDLE_MS,
    removeIdleConsumersAfterMs: config.CONSUMER_REMOVE_IDLE_MS,
    deadLetterMaxLength: config.DEAD_LETTER_MAX_LENGTH,
  },
  ...(tracing && { tracing }),
});

registerConsumerMetrics(metrics, consumer);
// Webhooks are sent by a loop of their own on the commands connection, never
// in a job's path; without WEBHOOK_SECRET, none (webhookSettings is undefined).
const webhookDelivery = webhookSettings(config);
const webhooks = webhookDelivery && createWebhookDeliverer({ redis, keys, log, model, settings: webhookDelivery });
registerWebhookMetrics(metrics, {
  stats: webhooks?.stats ?? { delivered: 0, retried: 0, failed: 0, gone: 0 },
  redis,
  keys,
  onError: (error) => log.warn({ err: error }, 'webhook metrics: Redis did not answer'),
});
// The dashboard's jobs per second and model quantiles: the API reads them from Redis.
const statsPublisher = createStatsPublisher({ redis, keys, name: consumerName, consumer, registry: metrics, log });
registerQueueMetrics(metrics, redis, keys, {
  onError: (error) => log.warn({ err: error }, 'queue metrics: Redis did not answer'),
});

// /ready says what the consumer does: loading its model, reading jobs, or stopping.
let phase: 'loading' | 'reading' | 'stopping' = 'loading';
const readiness = (): Readiness => {
  if (phase === 'loading') return { ready: false, reason: 'The model is still loading.' };
  if (phase === 'stopping')
    return { ready: false, reason: 'Stopping: finishing the jobs in hand, taking no new ones.' };
  if (redis.status !== 'ready')
    return { ready: false, reason: 'Redis is unreachable; reading resumes when it answers.' };
  return { ready: true };
};
const metricsServer = createMetricsServer({ registry: metrics, readiness });
// Before the model loads: /health answers, and /ready says it is loading.
try {
  const port = await metricsServer.listen(config.METRICS_PORT, config.METRICS_HOST);
  log.info({ port, host: config.METRICS_HOST }, 'metrics, /health and /ready listening');
} catch (error) {
  const where = `${config.METRICS_HOST}:${config.METRICS_PORT}`;
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(
    code === 'EADDRINUSE'
      ? `foretell consumer: METRICS_PORT: ${where} is already in use; stop what listens there, or set METRICS_PORT to a free port (0: any).\n`
      : `foretell consumer: METRICS_PORT: cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}

// Past the grace period, closing connections takes milliseconds; a stop that
// takes longer than this margin on top is stuck, and is ended with exit 1.
const CLOSE_MARGIN_MS = 5000;
let stopRequested = false;
closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + CLOSE_MARGIN_MS, logger: log }, async ({ signal, err }) => {
  stopRequested = true;
  phase = 'stopping';
  if (err) log.error({ err }, 'shutting down after an unexpected error');
  else log.info({ signal }, 'shutting down: no new jobs, finishing the ones in hand');
  // The last snapshot once the jobs in hand are done, before the connection closes.
  // Webhook attempts in hand get the same grace as the jobs, at the same time,
  // before the connection closes; those cut short are sent again when their lease ends.
  const reporting = {
    ...consumer,
    close: () =>
      Promise.all([consumer.close(), webhooks?.close(config.SHUTDOWN_GRACE_MS)])
        .then(() => undefined)
        .finally(() => statsPublisher.close()),
  };
  await shutDown({ consumer: reporting, redis, graceMs: config.SHUTDOWN_GRACE_MS, log });
  await Promise.resolve(model.close?.()).catch((error: unknown) => log.warn({ err: error }, 'model close failed'));
  // Once the jobs in hand are done: their spans have ended, and are exported now.
  await tracing?.shutdown();
  // Last: the port answers (/ready 503) while the consumer drains.
  await metricsServer.close();
});

// No entry is read before the model can run it: a load that fails stops the
// process with one line, before it took any job.
if (model.load) {
  try {
    await model.load();
  } catch (error) {
    process.stderr.write(`foretell consumer: ${loadFailureMessage(config, error)}\n`);
    process.exit(1);
  }
  log.info({ model: model.name, version: model.version }, 'model loaded');
}

try {
  if (!stopRequested) {
    await consumer.start();
    if (!stopRequested) {
      phase = 'reading';
      statsPublisher.start();
      if (webhooks) webhooks.start();
      else void warnOfUnsentWebhooks(redis, keys, log);
    }
  }
} catch (error) {
  // A start still waiting for Redis fails when a stop drops the connection: that is the stop's to report.
  if (!stopRequested) throw error;
}
