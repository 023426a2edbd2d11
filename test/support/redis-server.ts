// A private redis-server for tests that stop, crash or restart one: the
// project's one launcher (scripts/lib/local-redis.mjs), without persistence
// unless asked.
import { freePort, launchRedis, type LocalRedis } from '../../scripts/lib/local-redis.mjs';

export { freePort };

/** port, url, dir, stop({ crash }), restart() (same port and folder), dispose() (also removes the folder). */
export type RedisServer = LocalRedis;

export interface RedisServerOptions {
  readonly appendOnly?: boolean;
}

/** Starts a real redis-server on a free loopback port, in a temporary folder. */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return launchRedis({ appendOnly: options.appendOnly ?? false });
}
