// What the consumer logs when it takes over the pending entries of one that stopped.
const RECLAIM_MESSAGE = 'reclaimed entries of a consumer that stopped';

/**
 * Tallies the apps' log messages (LOG_LEVEL=warn keeps only warnings and
 * errors, reclaims included), to show what happened during the run.
 */
export class AppLogTally {
  /** Entries reclaimed from stopped consumers, summed over the reclaim messages. */
  reclaimed = 0;
  readonly #counts = new Map<string, number>();

  read(line: string): void {
    if (!line.startsWith('{')) return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof record !== 'object' || record === null || !('msg' in record)) return;
    const { msg } = record;
    if (typeof msg !== 'string') return;
    if (msg === RECLAIM_MESSAGE && 'count' in record) this.reclaimed += Number(record.count) || 0;
    this.#counts.set(msg, (this.#counts.get(msg) ?? 0) + 1);
  }

  /** `message ×n; …`, or '' when nothing was logged. */
  summary(): string {
    return [...this.#counts].map(([msg, n]) => `${msg} ×${n}`).join('; ');
  }
}

/** Whether a line of an app's output reports an error (pino level 50 or 60, or a stack). */
export const isErrorLine = (line: string): boolean => /Error|"level":(50|60)/.test(line);
