import { pino, type Level, type Logger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly reqId?: string;
  readonly [field: string]: unknown;
}

export interface LogCapture {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  readonly lines: LogLine[];
}

/** A pino logger at `level` writing into memory (pino writes to a plain stream synchronously). */
export function captureLog(level: Level): LogCapture {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
