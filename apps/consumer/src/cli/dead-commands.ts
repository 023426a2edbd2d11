import type { DeadLetter, DeadLetters } from '@foretell/shared';
import type { CliCommand } from './cli-args.js';

/** Where a command writes its results (stdout). */
export type Write = (text: string) => void;

const COLUMNS = [
  ['entry', 17],
  ['dead since', 24],
  ['job id', 36],
  ['attempts', 8],
  ['model', 20],
  ['reason', 48],
  ['input', 0],
] as const;

function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function header(): string {
  return COLUMNS.map(([title, width]) => title.padEnd(width)).join('  ');
}

/** Names models by their refs: "name version" from `{prefix}:models`, for the refs it knows. */
export type ModelNames = (refs: readonly string[]) => Promise<ReadonlyMap<string, string>>;

function row(letter: DeadLetter, models: ReadonlyMap<string, string>): string {
  // The ref alone when the registry does not name it (a model with no name has no ref: '-').
  const model = letter.model === undefined ? '-' : (models.get(letter.model) ?? letter.model);
  return [
    letter.entryId.padEnd(17),
    letter.at.toISOString(),
    (letter.jobId ?? '-').padEnd(36),
    String(letter.attempts ?? '-').padStart(8),
    shorten(model, 20).padEnd(20),
    shorten(letter.reason, 48).padEnd(48),
    shorten(letter.input ?? '-', 30),
  ].join('  ');
}

/**
 * Runs one dead-letter command and writes its result. `total` counts the
 * dead letters, to say when a listing is cut short by --count.
 */
export async function runDeadCommand(
  command: Exclude<CliCommand, { kind: 'help' }>,
  deadLetters: DeadLetters,
  total: () => Promise<number>,
  write: Write,
  modelNames: ModelNames = async () => new Map(),
): Promise<void> {
  const namesOf = (letters: readonly DeadLetter[]) =>
    modelNames([...new Set(letters.flatMap(({ model }) => (model === undefined ? [] : [model])))]);
  switch (command.kind) {
    case 'list': {
      const letters = await deadLetters.list(command.count);
      if (command.json) {
        write(`${JSON.stringify(letters)}\n`);
        return;
      }
      const models = await namesOf(letters);
      write(`${header().trimEnd()}\n`);
      for (const letter of letters) write(`${row(letter, models)}\n`);
      const all = letters.length < command.count ? letters.length : await total();
      write(
        all > letters.length
          ? `${letters.length} of ${all} dead letter(s), the oldest; --count ${all} lists them all\n`
          : `${letters.length} dead letter(s)\n`,
      );
      return;
    }
    case 'replay': {
      const letter = await deadLetters.replay(command.entryId);
      write(`replayed ${letter.entryId} as job ${letter.jobId ?? ''}: queued again\n`);
      return;
    }
    case 'replay-all': {
      const { replayed, skipped } = await deadLetters.replayAll();
      write(`replayed ${replayed.length}, skipped ${skipped.length} (not a valid job)\n`);
      const models = await namesOf(skipped);
      for (const letter of skipped) write(`skipped ${row(letter, models)}\n`);
      return;
    }
  }
}
