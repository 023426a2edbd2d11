import { ConfigError, createDeadLetters, NotReplayableError, redisKeys } from '@foretell/shared';
import { loadConsumerConfig } from '../config.js';
import type { CliCommand } from './cli-args.js';
import { CliFailure } from './cli-errors.js';
import { connectOnce, describeRedisFailure } from './cli-redis.js';
import { runDeadCommand, type ModelNames, type Write } from './dead-commands.js';

/**
 * A parsed command that needs Redis: reads the configuration, connects once,
 * runs it. Loaded by run-cli.ts only once the command line is understood,
 * so that a usage mistake or --help answers without loading ioredis and the
 * configuration schemas (most of the CLI's start-up time). Expected failures
 * are thrown as CliFailure.
 */
export async function runOnRedis(
  command: Exclude<CliCommand, { kind: 'help' }>,
  env: Readonly<Record<string, string | undefined>>,
  stdout: Write,
): Promise<void> {
  try {
    const config = loadConsumerConfig(env);
    const redis = await connectOnce(config);
    try {
      const keys = redisKeys(config.KEY_PREFIX);
      const deadLetters = createDeadLetters(redis, keys, config.RESULT_TTL_SECONDS);
      // One HMGET for the models of the letters shown (a listing is at most --count long).
      const modelNames: ModelNames = async (refs) => {
        if (refs.length === 0) return new Map();
        const names = await redis.hmget(keys.models, ...refs);
        return new Map(refs.flatMap((ref, at) => (names[at] ? [[ref, names[at]] as const] : [])));
      };
      await runDeadCommand(command, deadLetters, () => redis.xlen(keys.dead), stdout, modelNames).catch(
        (error: unknown) => {
          throw describeRedisFailure(error, config, redis);
        },
      );
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    if (error instanceof ConfigError) throw new CliFailure(`invalid configuration: ${error.problems.join('; ')}`);
    if (error instanceof NotReplayableError) throw new CliFailure(error.message);
    throw error;
  }
}
