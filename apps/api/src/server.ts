import { once } from 'node:events';
import { ConfigError, loadModel } from '@foretell/shared';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { loadApiConfig } from './config.js';
import { createApiRedis } from './redis-connection.js';

// The one impure entrypoint: reads the environment, opens Redis, listens,
// and shuts down in order on SIGINT/SIGTERM (a second signal forces exit).
const config = (() => {
  try {
    return loadApiConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`foretell api: ${error.message}\n`);
    process.exit(1);
  }
})();
const log = pino({ level: config.LOG_LEVEL, base: { service: 'api' } });
const model = await loadModel(config);
const redis = createApiRedis(config.REDIS_URL, config.REDIS_TIMEOUT_MS, log);
const app = await buildApp({ config, redis, model, logger: log });

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an unexpected error');
  else log.info({ signal }, 'shutting down: draining in-flight requests');
  await app.close();
  await redis.quit().catch((error: unknown) => log.warn({ err: error }, 'redis quit failed'));
  log.info('stopped');
});

// Serve even if Redis is not up yet: /ready and 503s say so until it is.
if (redis.status !== 'ready') {
  await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
}
await app.listen({ port: config.PORT, host: config.HOST });
