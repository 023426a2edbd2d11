import { parseArgs } from 'node:util';
import { ConfigError, redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { loadConsumerConfig } from './config.js';
import { createDeadLetters, NotReplayableError, type DeadLetter } from './dead-letters.js';

// `pnpm foretell dead list|replay`: the operator's tool for the dead-letter
// stream. An entrypoint like main.ts: it reads the same environment
// (REDIS_URL, KEY_PREFIX, RESULT_TTL_SECONDS) and prints to stdout.
const USAGE = `usage: foretell dead list [--count N] [--json]
       foretell dead replay <entry-id>
       foretell dead replay --all`;

function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function row(letter: DeadLetter): string {
  return [
    letter.entryId.padEnd(17),
    letter.at.toISOString(),
    (letter.jobId ?? '-').padEnd(36),
    String(letter.attempts ?? '-').padStart(8),
    shorten(letter.reason, 48).padEnd(48),
    shorten(letter.input ?? '-', 30),
  ].join('  ');
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { count: { type: 'string', default: '100' }, json: { type: 'boolean' }, all: { type: 'boolean' } },
  });
  const [group, command, entryId] = positionals;
  if (group !== 'dead' || (command !== 'list' && command !== 'replay')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConsumerConfig(process.env);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  const deadLetters = createDeadLetters(redis, redisKeys(config.KEY_PREFIX), config.RESULT_TTL_SECONDS);
  try {
    if (command === 'list') {
      const count = Number(values.count);
      if (!Number.isInteger(count) || count < 1) throw new NotReplayableError('--count must be a positive integer');
      const letters = await deadLetters.list(count);
      if (values.json) process.stdout.write(`${JSON.stringify(letters)}\n`);
      else {
        process.stdout.write(
          `${['entry'.padEnd(17), 'dead since'.padEnd(24), 'job id'.padEnd(36), 'attempts', 'reason'.padEnd(48), 'input'].join('  ')}\n`,
        );
        for (const letter of letters) process.stdout.write(`${row(letter)}\n`);
        process.stdout.write(`${letters.length} dead letter(s)\n`);
      }
    } else if (values.all) {
      const { replayed, skipped } = await deadLetters.replayAll();
      process.stdout.write(`replayed ${replayed.length}, skipped ${skipped.length} (not a valid job)\n`);
      for (const letter of skipped) process.stdout.write(`skipped ${row(letter)}\n`);
    } else if (entryId) {
      const letter = await deadLetters.replay(entryId);
      process.stdout.write(`replayed ${letter.entryId} as job ${letter.jobId ?? ''}: queued again\n`);
    } else {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof NotReplayableError || error instanceof ConfigError)) throw error;
  process.stderr.write(`foretell: ${error.message}\n`);
  process.exitCode = 1;
}
