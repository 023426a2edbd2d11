import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { waitFor } from './wait-for.js';

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
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'foretell-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', aof ? 'yes' : 'no', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction');
  // As docker-compose.yml and `npm start` run Redis: job hashes stay listpack-encoded up to 1 KiB values.
  args.push('--hash-max-listpack-value', '1024');
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failedToStart = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`could not start redis-server: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  // Only the race below listens; a later exit (our own stop) is not an error.
  failedToStart.catch(() => undefined);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  const stop = async () => {
    client.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const inTime = await Promise.race([exited.then(() => true), sleep(5000, false, { ref: false })]);
      if (!inTime) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      failedToStart,
      waitFor(
        async () => {
          if (client.status === 'wait') await client.connect();
          return (await client.ping()) === 'PONG';
        },
        { timeoutMs: 10_000, intervalMs: 50, what: `redis-server on port ${port}` },
      ),
    ]);
    const info = await client.info('server');
    return {
      url,
      client,
      persistence: aof
        ? 'appendonly yes, appendfsync everysec, hash-max-listpack-value 1024'
        : 'appendonly no, no RDB snapshots, hash-max-listpack-value 1024',
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      pid: child.pid,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
