import { FINISH_JOB_LUA, PROMOTE_RETRIES_LUA, RETRY_JOB_LUA, START_JOB_LUA } from '@foretell/shared';
import type { Redis, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    foretellStartJob(jobKey: string, now: string): Result<number, Context>;
    foretellFinishJob(
      jobKey: string,
      jobsStream: string,
      deadStream: string,
      group: string,
      entryId: string,
      jobId: string,
      outcome: 'succeeded' | 'failed',
      value: string,
      now: string,
      ttlSeconds: string,
      doneChannel: string,
    ): Result<number, Context>;
    foretellRetryJob(
      jobKey: string,
      jobsStream: string,
      retries: string,
      group: string,
      entryId: string,
      jobId: string,
      reason: string,
      dueAt: string,
    ): Result<number, Context>;
    foretellPromoteRetries(
      retries: string,
      jobsStream: string,
      now: string,
      limit: string,
      jobKeyPrefix: string,
    ): Result<number, Context>;
  }
}

/**
 * Registers the consumer's Lua scripts on a connection (ioredis sends them
 * with EVALSHA and reloads them after a Redis restart). Idempotent.
 */
export function defineJobScripts(redis: Redis): void {
  redis.defineCommand('foretellStartJob', { numberOfKeys: 1, lua: START_JOB_LUA });
  redis.defineCommand('foretellFinishJob', { numberOfKeys: 3, lua: FINISH_JOB_LUA });
  redis.defineCommand('foretellRetryJob', { numberOfKeys: 3, lua: RETRY_JOB_LUA });
  redis.defineCommand('foretellPromoteRetries', { numberOfKeys: 2, lua: PROMOTE_RETRIES_LUA });
}
