// A replicated Redis for failover tests: a primary, a replica of it and,
// when asked, a sentinel watching them, each a real redis-server on a free
// loopback port, started with the project's one launcher.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { launchRedis, type LocalRedis } from '../../scripts/lib/local-redis.mjs';
import { parseInfo } from '../../scripts/lib/redis-command.mjs';
import { waitFor } from './wait-for.js';

export const SENTINEL_MASTER_NAME = 'mymaster';

export interface RedisTopology {
  /** The node that is primary at start. */
  readonly first: LocalRedis;
  /** The node that replicates it at start, the one a sentinel promotes. */
  readonly second: LocalRedis;
  /** Absent unless asked for. */
  readonly sentinel: LocalRedis | undefined;
  /** REDIS_SENTINELS for the apps (`127.0.0.1:<port>`). */
  readonly sentinels: string;
  /** A connection to each node, for the test's own checks. */
  connect(node: LocalRedis): Redis;
  /** The port of the node the sentinel names as master now. */
  masterPort(): Promise<number>;
  /** Stops every server and closes every connection it opened. */
  dispose(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Resolves once `replica` replicates `primary` with the link up (its data copied). */
export async function waitForReplication(replica: Redis, primaryPort: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const info = await replica.info('replication');
      return info.includes(`master_port:${primaryPort}`) && info.includes('master_link_status:up');
    },
    { timeoutMs, what: `replication from port ${primaryPort}` },
  );
}

/**
 * Waits until `replica` has applied every write `primary` had taken when
 * called, as an operator checks before promoting it in a planned switch:
 * replication is asynchronous, and writes the replica has not received are
 * lost with the demotion (REDIS_WAIT_REPLICAS is what closes that window).
 */
export async function waitForCatchUp(primary: Redis, replica: Redis, timeoutMs = 10_000): Promise<void> {
  const offset = async (node: Redis, field: string) => Number(parseInfo(await node.info('replication'))[field]);
  const written = await offset(primary, 'master_repl_offset');
  await waitFor(async () => (await offset(replica, 'slave_repl_offset')) >= written, {
    timeoutMs,
    what: `the replica at offset ${written}`,
  });
}

export async function startRedisTopology({ withSentinel = false } = {}): Promise<RedisTopology> {
  const started: LocalRedis[] = [];
  const connections: Redis[] = [];
  const folders: string[] = [];
  const connect = (node: LocalRedis) => {
    const redis = new Redis(node.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    connections.push(redis);
    return redis;
  };
  const dispose = async () => {
    connections.splice(0).forEach((redis) => redis.disconnect());
    // Sentinel first: it must not see the data nodes go down and start a failover.
    for (const node of started.splice(0).reverse()) await node.dispose();
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  };
  try {
    // Replicas sync at once, not after the 5 s a primary waits by default to serve several in one go.
    const noSyncDelay = ['--repl-diskless-sync-delay', '0'];
    const first = await launchRedis({ tempPrefix: 'foretell-primary-', extraArgs: noSyncDelay });
    started.push(first);
    const second = await launchRedis({
      tempPrefix: 'foretell-replica-',
      extraArgs: [...noSyncDelay, '--replicaof', HOST, String(first.port)],
    });
    started.push(second);
    await waitForReplication(connect(second), first.port);
    // The primary counts a replica for WAIT only once it has marked it online (after its first ACK).
    const primary = connect(first);
    await waitFor(async () => (await primary.info('replication')).includes(`port=${second.port},state=online`), {
      what: 'the primary to see its replica online',
    });
    let sentinel: LocalRedis | undefined;
    let sentinelClient: Redis | undefined;
    if (withSentinel) {
      const dir = await mkdtemp(join(tmpdir(), 'foretell-sentinel-'));
      folders.push(dir);
      sentinel = await launchRedis({ dir, configFile: await sentinelFile(dir, first.port), extraArgs: ['--sentinel'] });
      started.push(sentinel);
      sentinelClient = connect(sentinel);
      const client = sentinelClient;
      // SENTINEL FAILOVER needs a replica the sentinel has seen and judged fit.
      await waitFor(
        async () => {
          const replicas = (await client.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as string[][];
          return replicas.some(
            (fields) =>
              fields[fields.indexOf('port') + 1] === String(second.port) &&
              fields[fields.indexOf('flags') + 1] === 'slave',
          );
        },
        { timeoutMs: 15_000, what: 'the sentinel to know the replica' },
      );
    }
    return {
      first,
      second,
      sentinel,
      sentinels: sentinel === undefined ? '' : `${HOST}:${sentinel.port}`,
      connect,
      async masterPort() {
        if (sentinelClient === undefined) throw new Error('no sentinel in this topology');
        const address = (await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as [
          string,
          string,
        ];
        return Number(address[1]);
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * A sentinel configuration in a temporary folder: quorum 1 (one sentinel),
 * a master judged down after 1 s, and a failover that may be retried after 5 s.
 */
async function sentinelFile(dir: string, primaryPort: number): Promise<string> {
  // The sentinel rewrites its file with what it learns: one per sentinel, in its own folder.
  const configFile = join(dir, 'sentinel.conf');
  await writeFile(
    configFile,
    [
      `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
      '',
    ].join('\n'),
  );
  return configFile;
}
