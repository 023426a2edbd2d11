import { startProcess, type BenchProcess } from '../processes.js';
import { isErrorLine, type AppLogTally } from './app-logs.js';
import { log } from './log.js';
import type { SoakOptions } from './options.js';

// Consumers dying without being killed, beyond which the run stops (a crash loop).
const MAX_UNEXPECTED_EXITS = 20;
const REPLACE_AFTER_MS = 500;

export interface FleetSettings {
  readonly options: SoakOptions;
  /** What every app of the run gets: Redis, prefix, log level, model latency. */
  readonly env: Readonly<Record<string, string>>;
  readonly prefix: string;
  readonly tally: AppLogTally;
  /** Consumers keep dying by themselves: the run cannot go on. */
  readonly giveUp: (error: Error) => void;
}

/**
 * The consumers, kept at full strength: one killed by us is replaced at once
 * under a new name (so its entries must be reclaimed); one that dies by
 * itself is a finding, reported and replaced.
 */
export class ConsumerFleet {
  readonly #settings: FleetSettings;
  /** Running and not signalled by us: the candidates for a kill. */
  readonly #unsignalled = new Set<BenchProcess>();
  /** Every consumer still running, signalled or not. */
  readonly #running = new Set<BenchProcess>();
  #started = 0;
  #closed = false;
  unexpectedExits = 0;

  constructor(settings: FleetSettings) {
    this.#settings = settings;
  }

  /** Starts one more consumer, unless the fleet is closed. */
  start(): void {
    if (this.#closed) return;
    const { options, env, prefix, tally } = this.#settings;
    this.#started += 1;
    const consumer = startProcess('consumer', {
      name: `consumer-${this.#started}`,
      // Own process group: Ctrl-C reaches only the runner, which stops the apps before Redis.
      detached: true,
      onLine: (line) => tally.read(line),
      env: {
        ...env,
        CONSUMER_NAME: `${prefix}-c${this.#started}`,
        CONSUMER_CONCURRENCY: String(options.consumerConcurrency),
        CLAIM_IDLE_MS: String(options.claimIdleMs),
        RETRY_BASE_DELAY_MS: String(options.retryBaseMs),
        RETRY_MAX_DELAY_MS: String(Math.max(options.retryBaseMs * 8, 1000)),
        MAX_ATTEMPTS: String(options.maxAttempts),
        SHUTDOWN_GRACE_MS: String(options.graceMs),
        CONSUMER_BLOCK_MS: '1000',
        // The fleet runs many consumers on one host: each on any free metrics port.
        METRICS_PORT: '0',
      },
    });
    this.#unsignalled.add(consumer);
    this.#running.add(consumer);
    void consumer.exited.then((how) => this.#onExit(consumer, how));
  }

  /** Signals a random unsignalled consumer and starts its replacement; false if there was none. */
  killRandom(signal: 'SIGKILL' | 'SIGTERM'): boolean {
    const candidates = [...this.#unsignalled].filter((consumer) => consumer.isRunning());
    const victim = candidates[Math.floor(Math.random() * candidates.length)];
    if (victim === undefined) return false;
    this.#unsignalled.delete(victim);
    victim.kill(signal);
    this.start();
    return true;
  }

  /** No more starts, replacements or reports of exits: the run is over. */
  close(): void {
    this.#closed = true;
  }

  /** Every consumer still running, for the clean-up. */
  running(): BenchProcess[] {
    return [...this.#running];
  }

  #onExit(consumer: BenchProcess, how: number | string): void {
    this.#running.delete(consumer);
    const byItself = this.#unsignalled.delete(consumer);
    if (!byItself || this.#closed) return;
    this.unexpectedExits += 1;
    // The first crash in full (it is the finding); later ones in one line.
    const lines = consumer.tail().split('\n');
    const detail = this.unexpectedExits === 1 ? `\n  ${lines.join('\n  ')}` : (lines.find(isErrorLine) ?? '');
    log(`${consumer.name} exited by itself (${how}): ${detail}`);
    // A consumer that cannot start would be replaced forever: give up instead.
    if (this.unexpectedExits > MAX_UNEXPECTED_EXITS) {
      this.#settings.giveUp(new Error(`${this.unexpectedExits} consumers exited by themselves; see above`));
      return;
    }
    setTimeout(() => this.start(), REPLACE_AFTER_MS);
  }
}
