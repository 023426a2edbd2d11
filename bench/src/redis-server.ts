import { Redis } from 'ioredis';
// Same depth from bench/src and bench/dist: the path resolves from both.
import { launchRedis } from '../../scripts/lib/local-redis.mjs';

export interface RedisServer {
  readonly url: string;
  /** The bench's own connection: fills, polls, checks. */
  readonly client: Redis;
  /** `appendonly no` or `appendonly yes, appendfsync everysec`, as the report states it. */
  readonly persistence: string;
  readonly version: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * A redis-server of the bench's own on a free loopback port, in a temporary
 * folder. Without `aof` nothing is persisted (throughput scenarios measure
 * foretell, not the disk); with it, AOF with fsync every second, as deployed.
 */
export async function startRedis({ aof }: { aof: boolean }): Promise<RedisServer> {
  const server = await launchRedis({ appendOnly: aof, tempPrefix: 'foretell-bench-redis-' });
  const client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  const stop = async () => {
    client.disconnect();
    await server.dispose();
  };
  try {
    const info = await client.info('server');
    return {
      url: server.url,
      client,
      persistence: aof
        ? 'appendonly yes, appendfsync everysec, hash-max-listpack-value 1024'
        : 'appendonly no, no RDB snapshots, hash-max-listpack-value 1024',
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      pid: server.pid,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
