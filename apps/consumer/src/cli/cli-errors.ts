/** Exit statuses of `foretell`, as its usage text and the README list them. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A command line foretell does not understand: exit 2, with a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An expected failure (Redis unreachable, an unknown entry, ...): one line, exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

// Values the user typed are quoted in messages, cut short: a pasted blob must not become the message.
const QUOTED_MAX = 64;

/** `value` as a message quotes it: JSON-escaped (no control characters), at most QUOTED_MAX characters. */
export function quoted(value: string): string {
  return JSON.stringify(value.length <= QUOTED_MAX ? value : `${value.slice(0, QUOTED_MAX - 1)}…`);
}

/** A message on one line: an error's text may hold newlines (a Redis reply, a dead letter's reason). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}
