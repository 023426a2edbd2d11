import { hostname } from 'node:os';
import {
  ConfigError,
  createProcessLogger,
  createRedisConnection,
  loadFailureMessage,
  loadModel,
  workerCount,
  redisKeys,
} from '@foretell/shared';
import closeWithGrace from 'close-with-grace';
import { loadConsumerConfig } from './config.js';
import { shutDown } from './shutdown.js';
import { createConsumer } from './stream-consumer.js';

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
// A module that cannot be loaded is a setting to fix: one line, as the API says it, not a stack.
const model = await loadModel({ ...config, MODEL_WORKERS: workerCount(config.MODEL_WORKERS) }).catch(
  (error: unknown) => {
    process.stderr.write(`foretell consumer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

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

const consumer = createConsumer({
  redis,
  model,
  keys: redisKeys(config.KEY_PREFIX),
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
});

// Past the grace period, closing connections takes milliseconds; a stop that
// takes longer than this margin on top is stuck, and is ended with exit 1.
const CLOSE_MARGIN_MS = 5000;
let stopRequested = false;
closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + CLOSE_MARGIN_MS, logger: log }, async ({ signal, err }) => {
  stopRequested = true;
  if (err) log.error({ err }, 'shutting down after an unexpected error');
  else log.info({ signal }, 'shutting down: no new jobs, finishing the ones in hand');
  await shutDown({ consumer, redis, graceMs: config.SHUTDOWN_GRACE_MS, log });
  await Promise.resolve(model.close?.()).catch((error: unknown) => log.warn({ err: error }, 'model close failed'));
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
  if (!stopRequested) await consumer.start();
} catch (error) {
  // A start still waiting for Redis fails when a stop drops the connection: that is the stop's to report.
  if (!stopRequested) throw error;
}
