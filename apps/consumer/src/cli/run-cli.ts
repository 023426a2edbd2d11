import { ConfigError, redisKeys } from '@foretell/shared';
import { loadConsumerConfig } from '../config.js';
import { createDeadLetters, NotReplayableError } from '../dead-letters.js';
import { parseCommand, USAGE } from './cli-args.js';
import { CliFailure, EXIT_ERROR, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './cli-errors.js';
import { connectOnce, describeRedisFailure } from './cli-redis.js';
import { runDeadCommand, type Write } from './dead-commands.js';

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Results: nothing else goes there, so that `--json` output parses. */
  readonly stdout: Write;
  /** Errors, one line each. */
  readonly stderr: Write;
}

/** The command, run: its exit status. Expected mistakes are one line on stderr; a bug is thrown. */
export async function runCli({ argv, env, stdout, stderr }: CliIo): Promise<number> {
  const fail = (status: number, message: string) => {
    stderr(`foretell: ${oneLine(message)}\n`);
    return status;
  };
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    const config = loadConsumerConfig(env);
    const redis = await connectOnce(config);
    try {
      const keys = redisKeys(config.KEY_PREFIX);
      const deadLetters = createDeadLetters(redis, keys, config.RESULT_TTL_SECONDS);
      await runDeadCommand(command, deadLetters, () => redis.xlen(keys.dead), stdout).catch((error: unknown) => {
        throw describeRedisFailure(error, config, redis);
      });
    } finally {
      redis.disconnect();
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT_USAGE, `${error.message}; see foretell --help`);
    if (error instanceof ConfigError) return fail(EXIT_ERROR, `invalid configuration: ${error.problems.join('; ')}`);
    if (error instanceof CliFailure || error instanceof NotReplayableError) return fail(EXIT_ERROR, error.message);
    throw error;
  }
}
