// How `npm start` shows its processes' output: one line each, prefixed with
// the process's name, pino's JSON lines made readable by pino-pretty. Colour
// only on a terminal (isColourful): a log file or a pipe gets plain text.
import { createInterface } from 'node:readline';
import { isColourful } from './run.mjs';

const COLOURS = { redis: 31, api: 36, consumer: 35 };
const LABEL_WIDTH = 8;

/**
 * A printer for the processes' lines. `prettyFactory` is pino-pretty's,
 * passed in because pino-pretty is a dev dependency: it is there only once
 * installed.
 */
export function createServiceOutput(prettyFactory) {
  const colour = isColourful(process.stdout);
  const pretty = prettyFactory({
    colorize: colour,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  const prettyLine = (line) => {
    if (!line.startsWith('{')) return line;
    try {
      return pretty(line);
    } catch {
      return line; // not pino's JSON after all: shown as it is
    }
  };
  return {
    /**
     * Prints every line of `streams` under `name`'s label, and hands each
     * (as printed, before the label) to `onLine`.
     */
    show(name, streams, onLine = () => undefined) {
      const label = name.padEnd(LABEL_WIDTH);
      const tag = `${colour ? `\u001b[${COLOURS[name] ?? 0}m${label}\u001b[0m` : label}│ `;
      for (const stream of streams) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (raw) => {
          onLine(raw);
          process.stdout.write(`${tag}${prettyLine(raw).trimEnd()}\n`);
        });
      }
    },
  };
}
