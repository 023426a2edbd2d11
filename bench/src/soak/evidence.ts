import type { RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { AppLogTally } from './app-logs.js';
import type { FinalStatus } from './finish.js';
import { log } from './log.js';
import type { Verdict } from './verdict.js';

// Lost or duplicated jobs shown in full, of each kind.
const SHOWN = 10;

const show = (label: string, value: unknown) => process.stdout.write(`  ${label}: ${JSON.stringify(value)}\n`);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Prints why jobs failed, what the apps warned about, and the evidence for any lost or duplicated job. */
export async function explain(
  redis: Redis,
  keys: RedisKeys,
  { lostIds, duplicatedIds }: Verdict,
  {
    statuses,
    announced,
    tally,
  }: {
    readonly statuses: ReadonlyMap<string, FinalStatus>;
    readonly announced: ReadonlyMap<string, number>;
    readonly tally: AppLogTally;
  },
): Promise<void> {
  const failed = [...statuses].filter(([, status]) => status === 'failed').map(([id]) => id);
  const reasons = new Map<string, number>();
  for (const id of failed) {
    const reason = (await redis.hget(keys.job(id), 'reason')) ?? '(none)';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  for (const [reason, n] of reasons) log(`failed ×${n}: ${reason}`);
  const warnings = tally.summary();
  if (warnings) log(`consumer/api warnings: ${warnings}`);
  if (lostIds.length === 0 && duplicatedIds.length === 0) return;

  for (const id of lostIds.slice(0, SHOWN)) {
    log(`lost ${id}`);
    show('hash', await redis.hgetall(keys.job(id)));
    show('ttl', await redis.ttl(keys.job(id)));
    show('retry due', await redis.zscore(keys.retries, id));
  }
  for (const id of duplicatedIds.slice(0, SHOWN)) {
    log(`duplicated ${id}: announced ${announced.get(id)} times`);
    show('hash', await redis.hgetall(keys.job(id)));
  }
  show('XPENDING summary', await redis.xpending(keys.jobs, keys.group).catch(messageOf));
  show('XPENDING first 10', await redis.xpending(keys.jobs, keys.group, '-', '+', SHOWN).catch(messageOf));
  show('XLEN jobs', await redis.xlen(keys.jobs));
  show('XLEN dead', await redis.xlen(keys.dead));
  const lost = new Set(lostIds);
  const deadEntries = await redis.xrange(keys.dead, '-', '+', 'COUNT', 10_000);
  const deadLost = deadEntries.filter(([, fields]) => lost.has(fields[fields.indexOf('id') + 1] ?? ''));
  show('dead entries of lost jobs', deadLost.slice(0, SHOWN));
}
