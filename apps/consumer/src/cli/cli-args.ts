import { parseArgs } from 'node:util';
import { quoted, UsageError } from './cli-errors.js';

/** What the command line asks for, validated. */
export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'list'; readonly count: number; readonly json: boolean }
  | { readonly kind: 'replay'; readonly entryId: string }
  | { readonly kind: 'replay-all' };

const DEFAULT_COUNT = 100;

export const USAGE = `usage: foretell dead list [--count N] [--json]
       foretell dead replay <entry-id>
       foretell dead replay --all
       foretell --help

The dead letters of foretell (the stream {KEY_PREFIX}:dead), on the Redis the
consumer uses: REDIS_URL, KEY_PREFIX, RESULT_TTL_SECONDS and REDIS_SENTINEL*
are read as the consumer reads them.

  dead list             dead letters, oldest first: entry id, when, job id,
                        attempts, reason, input
    --count N           at most N of them (default ${DEFAULT_COUNT})
    --json              as one JSON array on stdout, nothing else
  dead replay <id>      queues the job of dead entry <id> again (attempts 0,
                        TTL renewed) and removes the entry
  dead replay --all     the same for every dead job; entries that name no
                        valid job are left, and listed

Exit status: 0 done, 1 failed (Redis unreachable, unknown entry, bad
configuration), 2 usage error. Errors are one line on stderr.`;

// Which options each command takes; --help goes with any.
const OPTIONS = {
  count: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptionName = keyof typeof OPTIONS;
const OPTIONS_OF: Record<'list' | 'replay', readonly OptionName[]> = { list: ['count', 'json'], replay: ['all'] };

// A stream entry id, `<ms>-<seq>`: both parts are unsigned 64-bit numbers to Redis.
const ENTRY_ID = /^(\d{1,20})-(\d{1,20})$/;
const UINT64_MAX = 2n ** 64n - 1n;

function isEntryId(value: string): boolean {
  const match = ENTRY_ID.exec(value);
  return match !== null && match.slice(1).every((part) => BigInt(part) <= UINT64_MAX);
}

function parseCount(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_COUNT;
  const count = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`--count must be a positive whole number (got ${quoted(raw)})`);
  }
  return count;
}

/**
 * Reads `argv` (without node and the script). Throws a UsageError, whose
 * message is one line, for anything it does not understand; `--help`
 * anywhere before `--` wins over every other mistake.
 */
export function parseCommand(argv: readonly string[]): CliCommand {
  // Not strict: unknown options come back as tokens, to be refused in our words rather than Node's.
  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options = tokens.filter((token) => token.kind === 'option');
  if (options.some((option) => option.name === 'help')) return { kind: 'help' };
  const positionals = tokens.filter((token) => token.kind === 'positional').map((token) => token.value);

  const [group, command, ...rest] = positionals;
  if (group === 'help' && command === undefined) return { kind: 'help' };
  if (group === undefined) throw new UsageError('missing command: dead list or dead replay');
  if (group !== 'dead') throw new UsageError(`unknown command ${quoted(group)}: expected dead list or dead replay`);
  if (command === undefined) throw new UsageError('missing command after dead: list or replay');
  if (command !== 'list' && command !== 'replay') {
    throw new UsageError(`unknown command ${quoted(`dead ${command}`)}: expected dead list or dead replay`);
  }

  const given = new Map<OptionName, string | undefined>();
  for (const option of options) {
    const name = option.name as OptionName;
    if (!(name in OPTIONS)) throw new UsageError(`unknown option ${option.rawName}`);
    if (!OPTIONS_OF[command].includes(name)) {
      throw new UsageError(`${option.rawName} is not an option of dead ${command}`);
    }
    if (OPTIONS[name].type === 'boolean' && option.value !== undefined) {
      throw new UsageError(`${option.rawName} takes no value`);
    }
    if (OPTIONS[name].type === 'string' && option.value === undefined) {
      throw new UsageError(`${option.rawName} needs a value`);
    }
    given.set(name, option.value);
  }

  if (command === 'list') {
    const [extra] = rest;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${quoted(extra)} after dead list`);
    return { kind: 'list', count: parseCount(given.get('count')), json: given.has('json') };
  }
  const [entryId, extra] = rest;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${quoted(extra)}: dead replay takes one entry id`);
  if (given.has('all')) {
    if (entryId !== undefined) throw new UsageError('dead replay takes an entry id or --all, not both');
    return { kind: 'replay-all' };
  }
  if (entryId === undefined) throw new UsageError('dead replay needs an entry id (as dead list shows it), or --all');
  if (!isEntryId(entryId)) {
    throw new UsageError(`${quoted(entryId)} is not an entry id (those look like 1732262400000-0)`);
  }
  return { kind: 'replay', entryId };
}
