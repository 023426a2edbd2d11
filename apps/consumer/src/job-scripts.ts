import {
  DEAD_LETTER_ENTRY_LUA,
  FINISH_JOBS_LUA,
  HEARTBEAT_ENTRIES_LUA,
  PROMOTE_RETRIES_LUA,
  REMOVE_IDLE_CONSUMERS_LUA,
  RETRY_JOB_LUA,
  START_JOBS_LUA,
} from '@foretell/shared';
import type { Redis, Result } from 'ioredis';

// Each takes the number of keys first, then the keys, then the arguments (see each script's file).
declare module 'ioredis' {
  interface RedisCommander<Context> {
    foretellStartJobs(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    foretellFinishJobs(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    foretellRetryJob(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    foretellPromoteRetries(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    foretellDeadLetterEntry(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    foretellHeartbeatEntries(numberOfKeys: number, ...keysAndArgs: string[]): Result<string[], Context>;
    foretellRemoveIdleConsumers(numberOfKeys: number, ...keysAndArgs: string[]): Result<string[], Context>;
  }
}

/**
 * Registers the consumer's Lua scripts on a connection (ioredis sends them
 * with EVALSHA and reloads them after a Redis restart). Idempotent.
 */
export function defineJobScripts(redis: Redis): void {
  redis.defineCommand('foretellStartJobs', { lua: START_JOBS_LUA });
  redis.defineCommand('foretellFinishJobs', { lua: FINISH_JOBS_LUA });
  redis.defineCommand('foretellRetryJob', { lua: RETRY_JOB_LUA });
  redis.defineCommand('foretellPromoteRetries', { lua: PROMOTE_RETRIES_LUA });
  redis.defineCommand('foretellDeadLetterEntry', { lua: DEAD_LETTER_ENTRY_LUA });
  redis.defineCommand('foretellHeartbeatEntries', { lua: HEARTBEAT_ENTRIES_LUA });
  redis.defineCommand('foretellRemoveIdleConsumers', { lua: REMOVE_IDLE_CONSUMERS_LUA });
}

/**
 * The keys of one batched script call: those given first (the array is
 * taken, not copied), then each key added through `indexOf` once. A job's
 * arguments name its keys by their (1-based) index in KEYS.
 */
export class ScriptKeys {
  private readonly indexes = new Map<string, number>();

  constructor(readonly keys: string[] = []) {}

  /** The index of `key` in KEYS, as the argument the script reads; '0' for no key. */
  indexOf(key: string | undefined): string {
    if (key === undefined) return '0';
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = this.keys.push(key);
      this.indexes.set(key, index);
    }
    return String(index);
  }
}
