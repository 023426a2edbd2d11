import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_MAXMEMORY, freePort, startLocalRedis } from '../../scripts/lib/local-redis.mjs';

// Every Redis foretell starts for real use runs with a memory limit and
// noeviction: `npm start`'s local one and the compose one.

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, { command?: string[] }>;
};

/** `256mb` in bytes, as CONFIG GET answers. */
const MAXMEMORY_BYTES = String(Number.parseInt(DEFAULT_LOCAL_MAXMEMORY, 10) * 1024 * 1024);

describe('maxmemory', () => {
  it('is set on the compose Redis from REDIS_MAXMEMORY, with the same default as npm start', () => {
    const command = compose.services.redis?.command ?? [];
    expect(command[command.indexOf('--maxmemory') + 1]).toBe(`\${REDIS_MAXMEMORY:-${DEFAULT_LOCAL_MAXMEMORY}}`);
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(DEFAULT_LOCAL_MAXMEMORY).toBe('256mb');
  });

  it.each([
    ['by default', undefined, MAXMEMORY_BYTES],
    ['as LOCAL_REDIS_MAXMEMORY says', '64mb', String(64 * 1024 * 1024)],
  ])("is set on npm start's Redis %s", async (_, maxMemory, bytes) => {
    const dir = await mkdtemp(join(tmpdir(), 'foretell-maxmemory-'));
    const port = await freePort();
    const child = await startLocalRedis({
      redisServer: 'redis-server',
      port,
      dir,
      onLine: () => undefined,
      ...(maxMemory !== undefined && { maxMemory }),
    });
    const redis = new Redis(port, '127.0.0.1');
    try {
      expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', bytes]);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      redis.disconnect();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
