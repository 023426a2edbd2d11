import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../bench/src/free-port.js';
import { waitFor } from './wait-for.js';

// The bench's port finder serves the tests too.
export { freePort };

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (SIGTERM, or SIGKILL with `crash`); its data folder is kept for a restart. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port and folder (AOF replayed when enabled). */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  readonly appendOnly?: boolean;
}

/**
 * Starts a real redis-server on a free loopback port, in a temporary folder.
 * (`--port 0` would turn TCP off, so the port is chosen here.)
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'foretell-redis-'));
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push('--appendonly', options.appendOnly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction');
    args.push('--hash-max-listpack-value', '1024');
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    const exited = new Promise<never>((_, reject) => {
      started.once('error', reject);
      started.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}`)));
    });
    child = started;
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await Promise.race([
        exited,
        waitFor(
          async () => {
            try {
              if (probe.status !== 'ready') await probe.connect();
              return (await probe.ping()) === 'PONG';
            } catch {
              probe.disconnect();
              return false;
            }
          },
          { timeoutMs: 10_000, what: `redis-server on port ${port}` },
        ),
      ]);
    } finally {
      probe.disconnect();
    }
    exited.catch(() => undefined);
  };

  const stop = async ({ crash = false }: { crash?: boolean } = {}) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const gone = new Promise((resolve) => running.once('exit', resolve));
    running.kill(crash ? 'SIGKILL' : 'SIGTERM');
    await gone;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    restart: launch,
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
