// The real processes the documentation's examples run against: a built API
// on a free loopback port, with or without a consumer, on the run's
// redis-server under a prefix of its own (or on a Redis that is not there).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { startApp, type AppProcess } from './app-process.js';
import { fetchClient, type PredictClient } from './predict-client.js';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface DocService {
  readonly prefix: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly client: PredictClient;
  readonly api: AppProcess;
  readonly consumer: AppProcess | undefined;
  /** For `unless`: throws as soon as one of its processes is gone. */
  readonly running: () => void;
  /** Kills its processes and deletes its keys. */
  stop(): Promise<void>;
}

export interface DocServiceOptions {
  /** The run's Redis; its keys under the service's prefix are deleted by `stop`. */
  readonly redis: Redis;
  readonly redisUrl: string;
  /** Extra environment of the API process (the mock model answers at once unless it says otherwise). */
  readonly api?: Readonly<Record<string, string>>;
  /** Environment of a consumer process on the same prefix; none without. */
  readonly consumer?: Readonly<Record<string, string>>;
  /** Waits for `/ready` 200 (it needs a consumer); otherwise for `/health` 200. */
  readonly waitReady?: boolean;
  readonly prefix?: string;
}

const INSTANT_MODEL = { MODEL_MIN_LATENCY_MS: '0', MODEL_MAX_LATENCY_MS: '0' };

export async function startDocService(options: DocServiceOptions): Promise<DocService> {
  const prefix = options.prefix ?? `docs-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const shared = { REDIS_URL: options.redisUrl, KEY_PREFIX: prefix, ...INSTANT_MODEL };
  const api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', ...options.api });
  const consumer = options.consumer
    ? startApp('consumer', { ...shared, CONSUMER_NAME: `${prefix}-consumer`, ...options.consumer })
    : undefined;
  const running = () => {
    api.assertRunning();
    consumer?.assertRunning();
  };
  const client = fetchClient(base);
  const service: DocService = {
    prefix,
    port,
    base,
    client,
    api,
    consumer,
    running,
    async stop() {
      await Promise.all([api.kill(), consumer?.kill()]);
      const found = await options.redis.keys(`${prefix}:*`);
      if (found.length > 0) await options.redis.del(...found);
    },
  };
  try {
    const path = options.waitReady ? '/ready' : '/health';
    await waitFor(
      async () => (await client.send({ method: 'GET', url: path }).catch(() => undefined))?.status === 200,
      { timeoutMs: 60_000, what: `${path} 200 on ${base}`, unless: running },
    );
  } catch (error) {
    await service.stop();
    const printed = [...api.lines, ...(consumer?.lines ?? [])].slice(-20).join('\n');
    throw new Error(`${(error as Error).message}; the processes printed:\n${printed}`, { cause: error });
  }
  return service;
}

export interface UnreachableRedis {
  /** A `redis://` URL whose every connection is closed at once, before any reply. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A Redis the API cannot reach. The port is held by a listener that closes
 * each connection at once, rather than left free: another test's
 * redis-server could otherwise be given that port meanwhile.
 */
export async function unreachableRedis(): Promise<UnreachableRedis> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
