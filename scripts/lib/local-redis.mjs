import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function isPortTaken(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts redis-server on loopback with its data (AOF on) in `dir`, in its own
 * process group so that Ctrl-C reaches the runner first: Redis must outlive
 * the apps' drain. Resolves once it accepts connections.
 */
export async function startLocalRedis({ redisServer, port, dir, onLine }) {
  if (await isPortTaken(port)) {
    throw Object.assign(
      new Error(
        `port ${port} is already in use: set REDIS_URL=redis://127.0.0.1:${port} to use that Redis, or LOCAL_REDIS_PORT to start one elsewhere.`,
      ),
      { exitCode: 1 },
    );
  }
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  // The settings of docker-compose.yml's Redis (see there why).
  args.push(
    '--appendonly',
    'yes',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--hash-max-listpack-value',
    '1024',
  );
  const child = spawn(redisServer, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  onLine(child);
  const deadline = Date.now() + 10_000;
  while (!(await isPortTaken(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not start within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}
