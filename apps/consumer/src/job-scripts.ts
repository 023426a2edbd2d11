import { FINISH_JOBS_LUA, PROMOTE_RETRIES_LUA, RETRY_JOB_LUA, START_JOBS_LUA } from '@foretell/shared';
import type { Redis, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** start-jobs.lua: the number of job hashes, the hashes, then now. */
    foretellStartJobs(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    /** finish-jobs.lua: the number of keys, the keys, then the arguments. */
    foretellFinishJobs(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
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
  redis.defineCommand('foretellStartJobs', { lua: START_JOBS_LUA });
  redis.defineCommand('foretellFinishJobs', { lua: FINISH_JOBS_LUA });
  redis.defineCommand('foretellRetryJob', { numberOfKeys: 3, lua: RETRY_JOB_LUA });
  redis.defineCommand('foretellPromoteRetries', { numberOfKeys: 2, lua: PROMOTE_RETRIES_LUA });
}
