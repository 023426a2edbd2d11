import { rmSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { LocalRedis, RedisProcess } from '../../../scripts/lib/local-redis.mjs';
import { killAll, type BenchProcess } from '../processes.js';
import type { ConsumerFleet } from './fleet.js';

// How long the apps, then Redis, may take to stop before SIGKILL.
const APP_GRACE_MS = 3000;

/**
 * Everything a soak run starts, so that every way out (normal end, failure,
 * Ctrl-C, an uncaught error) stops all of it: the apps first, Redis last
 * (the apps may still write while they drain).
 */
export class SoakResources {
  redis: LocalRedis | undefined;
  /** Set as soon as it is spawned, so that even a start cut short leaves no server behind. */
  redisProcess: RedisProcess | undefined;
  api: BenchProcess | undefined;
  fleet: ConsumerFleet | undefined;
  readonly clients: Redis[] = [];
  #cleaned = false;

  async cleanUp(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    this.fleet?.close();
    for (const client of this.clients) client.disconnect();
    const apps = [...(this.api ? [this.api] : []), ...(this.fleet?.running() ?? [])];
    await Promise.all(apps.map((app) => app.stop(APP_GRACE_MS)));
    await this.redis?.dispose();
  }

  /** Last resort on process exit: cannot wait, so SIGKILL whatever is left and remove Redis's folder. */
  killAllNow(): void {
    killAll();
    const redis = this.redisProcess;
    if (redis && redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
    if (!this.#cleaned && this.redis) rmSync(this.redis.dir, { recursive: true, force: true });
  }
}
