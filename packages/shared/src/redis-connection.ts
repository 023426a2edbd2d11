import { Redis, type RedisOptions } from 'ioredis';
import type { ConfigCheck } from './config-loader.js';

/** Where the apps find Redis: REDIS_URL alone, or the master a set of sentinels names. */
export interface RedisConnectionConfig {
  /** Host and port are used without sentinels; user, password, db and TLS (`rediss:`) always. */
  readonly REDIS_URL: string;
  /** `host:port,host:port`; empty: no sentinels. */
  readonly REDIS_SENTINELS?: string;
  readonly REDIS_SENTINEL_NAME?: string;
  /** Of the sentinels themselves (`requirepass` in sentinel.conf); empty: none. */
  readonly REDIS_SENTINEL_PASSWORD?: string;
}

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/** What the factory logs through (a pino logger fits). */
export interface ConnectionLog {
  warn(details: object, message: string): void;
}

// A host name or IPv4 address, or an IPv6 address in brackets, then a port.
const ENDPOINT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):(\d{1,5})$/;
/** More sentinels than this is a typo, not a deployment (Sentinel is run as 3 or 5). */
export const MAX_SENTINELS = 16;

/** Parses REDIS_SENTINELS; throws an Error saying which item is wrong and why. */
export function parseSentinels(value: string): RedisEndpoint[] {
  if (value.trim() === '') return [];
  const items = value.split(',').map((item) => item.trim());
  if (items.length > MAX_SENTINELS) throw new Error(`at most ${MAX_SENTINELS} sentinels (got ${items.length})`);
  return items.map((item) => {
    const match = ENDPOINT.exec(item);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      // The item is a host and a port: quoting a short one helps, and it holds no secret.
      throw new Error(`expected host:port[,host:port…] with ports 1–65535 (got ${JSON.stringify(item.slice(0, 64))})`);
    }
    return { host: match[1] ?? match[2] ?? '', port };
  });
}

/** REDIS_SENTINELS must parse; the check sees the variable only if its schema accepted it. */
export const redisSentinelsCheck: ConfigCheck<{ REDIS_SENTINELS: string }> = ({ REDIS_SENTINELS: sentinels }) => {
  if (sentinels === undefined) return [];
  try {
    parseSentinels(sentinels);
    return [];
  } catch (error) {
    return [`REDIS_SENTINELS: ${(error as Error).message}`];
  }
};

// A write sent to a node that is (now) a replica: the node we knew as primary was demoted.
const READ_ONLY_REPLY = /^READONLY\b/;

/**
 * ioredis's `reconnectOnError`: on `READONLY`, drop the connection and
 * reconnect (through the sentinels, to whichever node is primary now), then
 * resend the command (2). The resend needs the offline queue: a connection
 * without one (the API's) rejects it at once, so the request gets a 503 and
 * the next one goes to the new primary.
 */
export function reconnectOnReadOnly(error: Error): 2 | false {
  return READ_ONLY_REPLY.test(error.message) ? 2 : false;
}

/**
 * The options of every foretell connection: the role's `tuning` (timeouts,
 * queueing), reconnect on `READONLY`, and the sentinels when configured,
 * which then name the master to connect to (`role: 'master'`: a node that
 * reports itself a replica is refused and the sentinels asked again).
 */
export function redisConnectionOptions(config: RedisConnectionConfig, tuning: RedisOptions = {}): RedisOptions {
  const sentinels = parseSentinels(config.REDIS_SENTINELS ?? '');
  const options: RedisOptions = { ...tuning, reconnectOnError: reconnectOnReadOnly };
  if (sentinels.length === 0) return options;
  return {
    ...options,
    sentinels,
    name: config.REDIS_SENTINEL_NAME || 'mymaster',
    role: 'master',
    ...(config.REDIS_SENTINEL_PASSWORD && { sentinelPassword: config.REDIS_SENTINEL_PASSWORD }),
    // `rediss:` keeps meaning TLS to the data node when it is found through sentinels.
    ...(/^rediss:/i.test(config.REDIS_URL) && { enableTLSForSentinelMode: true }),
    // Listens to the sentinels' +switch-master: a failover is followed at once, not at the next failed command.
    failoverDetector: true,
  };
}

/**
 * Opens a connection (to REDIS_URL, or to the master the sentinels name) with
 * the role's `tuning`. A `READONLY` reply makes it reconnect; that is logged
 * once per connection drop, and its `error` events are the caller's to log.
 */
export function createRedisConnection(config: RedisConnectionConfig, tuning: RedisOptions, log: ConnectionLog): Redis {
  const options = redisConnectionOptions(config, tuning);
  const redis: Redis = new Redis(config.REDIS_URL, {
    ...options,
    reconnectOnError: (error) => {
      const decision = reconnectOnReadOnly(error);
      if (decision !== false && redis.status === 'ready') {
        log.warn({ err: error }, 'redis node is a read-only replica (failover?); reconnecting');
      }
      return decision;
    },
  });
  return redis;
}
