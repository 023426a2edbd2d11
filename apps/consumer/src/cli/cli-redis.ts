import { createRedisConnection, parseSentinels, redactCredentials, type RedisConnectionConfig } from '@foretell/shared';
import { ReplyError, type Redis } from 'ioredis';
import { CliFailure, oneLine } from './cli-errors.js';

// An operator is waiting at a prompt: a Redis that has not accepted the
// connection and answered its first command within this long is reported
// unreachable rather than retried (ioredis waits 10 s, then retries for ever).
const CONNECT_TIMEOUT_MS = 5000;
// Each command is one XRANGE page or one replay script: milliseconds on a
// healthy Redis; this long means it is stuck, and the operator is told so.
const COMMAND_TIMEOUT_MS = 10_000;

// ioredis's own connection failures, raised as plain Errors.
const CONNECTION_FAILURES = new Set([
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
]);

/** Where the CLI looks for Redis, as messages show it: credentials left out. */
export function redisTarget(config: RedisConnectionConfig): string {
  const url = redactCredentials(config.REDIS_URL);
  const sentinels = parseSentinels(config.REDIS_SENTINELS ?? '');
  if (sentinels.length === 0) return `Redis at ${url}`;
  const list = sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
  return `Redis (master ${config.REDIS_SENTINEL_NAME ?? 'mymaster'} of the sentinels ${list})`;
}

function isConnectionFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    CONNECTION_FAILURES.has(error.message) ||
    error.name === 'MaxRetriesPerRequestError' ||
    (typeof code === 'string' && /^E[A-Z]+$/.test(code))
  );
}

function refused(error: Error, target: string): CliFailure {
  const command = (error as { command?: { name?: unknown } }).command?.name;
  const what = typeof command === 'string' ? command.toUpperCase() : 'the connection';
  return new CliFailure(`${target} refused ${what}: ${oneLine(error.message)}`);
}

/**
 * A failed Redis call as the operator should read it: a CliFailure naming
 * where Redis was looked for, when the connection was lost or Redis answered
 * with an error; anything else (a bug) is returned as it is.
 */
export function describeRedisFailure(error: unknown, config: RedisConnectionConfig, redis: Redis): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof ReplyError) return refused(error, redisTarget(config));
  if (redis.status === 'ready' && !isConnectionFailure(error)) return error;
  return new CliFailure(`lost the connection to ${redisTarget(config)} (${oneLine(redactCredentials(error.message))})`);
}

/**
 * Connects once, without retrying or queueing: the CLI answers at once when
 * Redis is down. Resolves when the connection serves commands; rejects with
 * a CliFailure saying which Redis could not be reached, and why.
 */
export async function connectOnce(config: RedisConnectionConfig): Promise<Redis> {
  const redis = createRedisConnection(
    config,
    {
      connectionName: 'foretell-cli',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      sentinelRetryStrategy: () => null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
    },
    // A READONLY reply (a failover) fails its command, which is reported as any other.
    { warn: () => undefined },
  );
  // Commands reject with their error, where it is reported; a failed connect()
  // rejects with "Connection is closed." only, the cause (ECONNREFUSED,
  // ETIMEDOUT, ENOTFOUND...) being the last error emitted.
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  // connectTimeout bounds the TCP connection only: a server that accepts and
  // never answers (a stopped Redis process, another service) would hold the ready check for ever.
  const noAnswer = new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(noAnswer), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), answered]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const target = redisTarget(config);
    const cause = error === noAnswer ? error : (lastError ?? error);
    if (cause instanceof ReplyError) throw refused(cause as Error, target);
    const detail = cause instanceof Error ? cause.message : String(cause);
    const check = config.REDIS_SENTINELS
      ? 'are the sentinels up, and REDIS_SENTINELS right?'
      : 'is it running, and REDIS_URL right?';
    throw new CliFailure(`cannot reach ${target} (${oneLine(redactCredentials(detail))}); ${check}`);
  } finally {
    clearTimeout(timer);
  }
}
