import type { Redis } from 'ioredis';

/**
 * The commands Redis ran on one key, in the order it ran them, as MONITOR
 * reports them (command name in lower case, then its arguments). Tests count
 * a consumer's rounds (heartbeats, claims) here instead of waiting a while.
 */
export interface CommandLog {
  readonly commands: readonly (readonly string[])[];
  /** When Redis ran each of `commands` (Unix ms, by its own clock), in the same order. */
  readonly times: readonly number[];
  /** Resolves once MONITOR is on: commands run from then on are logged. */
  readonly ready: Promise<void>;
  /** How many commands logged so far `matches` accepts. */
  count(matches: (command: readonly string[]) => boolean): number;
  close(): void;
}

/** Logs, on a connection of its own, every command that names `key`. */
export function logCommandsOn(redis: Redis, key: string): CommandLog {
  // Not `redis.monitor()`: ioredis enters monitor mode a microtask after MONITOR's OK,
  // so a command that Redis reports in the same packet as the OK is taken for a reply
  // to nothing, and the "Command queue state error" emitted for it rejects monitor().
  // Here that one line, from before the log began, is dropped; later ones all arrive.
  const monitor = redis.duplicate({ monitor: true, lazyConnect: false });
  monitor.on('error', () => undefined);
  const commands: string[][] = [];
  const times: number[] = [];
  monitor.on('monitor', (time: string, args: string[]) => {
    if (!args.includes(key)) return;
    const [name = '', ...rest] = args;
    commands.push([name.toLowerCase(), ...rest]);
    times.push(Number(time) * 1000);
  });
  return {
    commands,
    times,
    ready: new Promise((resolve) => monitor.once('monitoring', () => resolve())),
    count: (matches) => commands.filter(matches).length,
    close: () => monitor.disconnect(),
  };
}
