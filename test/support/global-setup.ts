import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServer } from './redis-server.js';

import './test-redis.js';

let server: RedisServer | undefined;

/** One real redis-server for the whole run; each test isolates itself with a key prefix. */
export async function setup(project: TestProject): Promise<void> {
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.dispose();
}
