import { parseCommand, USAGE } from './cli-args.js';
import { CliFailure, EXIT_ERROR, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './cli-errors.js';
import type { Write } from './dead-commands.js';

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
    // Only now: loading what talks to Redis is most of the start-up time.
    const { runOnRedis } = await import('./cli-session.js');
    await runOnRedis(command, env, stdout);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT_USAGE, `${error.message}; see foretell --help`);
    if (error instanceof CliFailure) return fail(EXIT_ERROR, error.message);
    throw error;
  }
}
