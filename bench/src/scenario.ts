import type { Baselines } from './baselines/baselines.js';
import type { RedisServer } from './redis-server.js';
import type { BenchSettings } from './settings.js';
import type { Figure } from './stats.js';

export interface ScenarioContext {
  readonly settings: BenchSettings;
  readonly redis: RedisServer;
  /** 1-based run number. */
  readonly run: number;
  /** The raw consumer loop's figures of this run (the bare route is measured by each HTTP scenario). */
  readonly baselines: Baselines;
  /** A progress line on stderr. */
  log(message: string): void;
}

/**
 * One measured situation. `run` starts what it needs, measures, stops it all
 * (also on failure) and returns its figures; the runner flushes Redis between
 * scenarios. A scenario measures its baseline next to itself, in the same run:
 * interleaved with it for HTTP load, right before (and after) it otherwise.
 */
export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(context: ScenarioContext): Promise<Figure[]>;
}
