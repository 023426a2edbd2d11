import type { TestProject } from 'vitest/node';
import { assertBuildRecorded, ROOT } from './build-check.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

import './test-redis.js';

let server: RedisServer | undefined;

/** One real redis-server for the whole run; each test isolates itself with a key prefix. */
export async function setup(project: TestProject): Promise<void> {
  // Once per run, before any file: the end-to-end files run `dist`, and `npm start` in the repository with it.
  assertBuildRecorded(ROOT);
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.dispose();
}
