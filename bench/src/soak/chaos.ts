import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerFleet } from './fleet.js';
import type { SoakOptions } from './options.js';

export interface Kills {
  SIGKILL: number;
  SIGTERM: number;
}

const between = (min: number, max: number) => min + Math.random() * (max - min);

/**
 * Every `--kill-every` seconds kills a random consumer (SIGTERM for a
 * `--sigterm-share` of them, else SIGKILL), which the fleet replaces, until
 * `signal` aborts or `stopped()` says the run is over. Resolves with the kills.
 */
export async function runChaos(
  fleet: ConsumerFleet,
  options: SoakOptions,
  signal: AbortSignal,
  stopped: () => boolean,
): Promise<Kills> {
  const kills: Kills = { SIGKILL: 0, SIGTERM: 0 };
  const [minMs, maxMs] = options.killEveryMs;
  // Bounded by count as well as by the stop signal.
  const maxKills = Math.ceil(options.durationLimitMs / minMs) + 1;
  for (let round = 0; round < maxKills; round++) {
    await sleep(between(minMs, maxMs), undefined, { signal }).catch(() => undefined);
    if (signal.aborted || stopped()) break;
    const how = Math.random() < options.sigtermShare ? 'SIGTERM' : 'SIGKILL';
    if (fleet.killRandom(how)) kills[how] += 1;
  }
  return kills;
}
