import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJobMessage, type Model, type RedisKeys, type Tracing } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createJobRunner, emptyStats, jobLogFields, type ConsumerStats } from './job-runner.js';
import { defineJobScripts } from './job-scripts.js';
import { traceJobRuns } from './job-span.js';
import { createPendingRecovery, type HeldEntry, type StreamEntry } from './pending-recovery.js';
import type { RetryPolicy } from './retry-policy.js';
import { listenForCancels } from './cancel-listener.js';
import { RunningJobs } from './running-jobs.js';

export type { ConsumerStats } from './job-runner.js';

export interface ConsumerSettings {
  readonly name: string;
  readonly concurrency: number;
  readonly blockMs: number;
  readonly resultTtlSeconds: number;
  readonly shutdownGraceMs: number;
  readonly retry: RetryPolicy;
  readonly claimIdleMs: number;
  readonly removeIdleConsumersAfterMs: number;
  /** Cap of the dead-letter stream (approximate trimming). */
  readonly deadLetterMaxLength: number;
}

export interface ConsumerDeps {
  /** Commands connection, shared; the consumer opens (and closes) its own blocking reader. */
  readonly redis: Redis;
  readonly model: Model;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly settings: ConsumerSettings;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is (main.ts loads it): a span per job, its model call and script calls. */
  readonly tracing?: Tracing;
}

export interface Consumer {
  /** Creates the group if needed and starts reading; resolves once reading has begun. */
  start(): Promise<void>;
  /** Stops reading, lets held jobs finish within the grace period, closes the reader. Idempotent. */
  close(): Promise<void>;
  readonly stats: Readonly<ConsumerStats>;
  inFlight(): number;
}

type StreamReply = [stream: string, entries: StreamEntry[]][] | null;

// Backoff after a failed read, capped so a consumer notices Redis's return quickly.
const READ_RETRY_MIN_MS = 100;
const READ_RETRY_MAX_MS = 2000;
// A read issued just after UNBLOCK was sent is not woken by it: send again until the loop ends.
const UNBLOCK_RETRY_MS = 50;
const UNBLOCK_PATIENCE_MS = 2000;
// Idle consumers are looked for at most this often (and at half their idle limit).
const IDLE_SWEEP_MAX_MS = 60_000;
// Upkeep (due retries, stale entries of dead consumers) runs at least this often.
const UPKEEP_MAX_MS = 1000;

/**
 * How often the entries in hand are heartbeated: a third of the claim
 * timeout, so that two heartbeats may be late before another consumer takes
 * an entry over. Each heartbeat is written to the AOF and the replicas, once
 * per entry in hand: every second, 256 entries in hand came to gigabytes a day.
 */
export function heartbeatPeriodMs(claimIdleMs: number): number {
  return Math.max(20, Math.floor(claimIdleMs / 3));
}

/** An entry being run, and the job it names (none for an entry that does not parse). */
interface InFlight extends HeldEntry {
  readonly done: Promise<void>;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The client name of a consumer's blocking reader, as CLIENT LIST shows it. It
 * names the group too: consumers of two deployments sharing a Redis may have
 * the same name, and closing one must not wake the other's read.
 */
export function readerConnectionName(keys: RedisKeys, consumerName: string): string {
  return `foretell-reader:${keys.group}:${consumerName}`.replace(/[^\w.:-]/g, '_');
}

/**
 * A member of the consumer group: reads entries with XREADGROUP on its own
 * blocking connection, and reclaims those of dead consumers between reads,
 * running up to `concurrency` of them at once. An upkeep loop heartbeats the
 * entries in hand and re-queues due retries.
 */
export function createConsumer({ redis, model, keys, log, settings, tracing }: ConsumerDeps): Consumer {
  defineJobScripts(redis);
  // Named, so that close() can find it with CLIENT LIST even after a reconnect changed its id.
  const readerName = readerConnectionName(keys, settings.name);
  const reader = redis.duplicate({ connectionName: readerName });
  reader.on('error', (err) => log.warn({ err }, 'redis reader connection error'));

  const stats = emptyStats();
  const inFlight = new Map<string, InFlight>();
  // `stopping` ends reading and claiming; the upkeep loop goes on heartbeating
  // the jobs in hand until they are drained (`upkeepStop`); `hardStop` aborts
  // the model calls once the grace period is over.
  const stopping = new AbortController();
  const upkeepStop = new AbortController();
  const hardStop = new AbortController();
  const running = new RunningJobs();
  const cancels = listenForCancels(redis, keys, settings.name, running, log);
  const runner = createJobRunner({
    redis,
    model,
    keys,
    log,
    stats,
    retry: settings.retry,
    resultTtlSeconds: settings.resultTtlSeconds,
    deadLetterMaxLength: settings.deadLetterMaxLength,
    hardStop: hardStop.signal,
    running,
    ...(tracing && { tracing }),
  });
  const runJob = traceJobRuns(runner, tracing, keys);
  const recovery = createPendingRecovery({
    redis,
    keys,
    log,
    consumerName: settings.name,
    claimIdleMs: settings.claimIdleMs,
    removeIdleConsumersAfterMs: settings.removeIdleConsumersAfterMs,
    resultTtlSeconds: settings.resultTtlSeconds,
  });
  const heartbeatEveryMs = heartbeatPeriodMs(settings.claimIdleMs);
  const upkeepEveryMs = Math.min(UPKEEP_MAX_MS, heartbeatEveryMs);
  let slotFreed: (() => void) | undefined;
  let reading: Promise<void> | undefined;
  let upkeep: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  async function ensureGroup(): Promise<void> {
    try {
      // From id 0, so entries added before the first consumer started are delivered too.
      await redis.xgroup('CREATE', keys.jobs, keys.group, '0', 'MKSTREAM');
      log.info({ stream: keys.jobs, group: keys.group }, 'consumer group created');
    } catch (error) {
      if (!messageOf(error).startsWith('BUSYGROUP')) throw error;
    }
  }

  function track([entryId, fields]: StreamEntry): void {
    // Claimed back while still running here (a missed heartbeat): one run is enough.
    if (inFlight.has(entryId)) return;
    const decoded = decodeJobMessage(fields);
    const done = runJob(entryId, fields, decoded)
      .catch((err: unknown) => {
        // Not acked: the entry stays pending and is reclaimed after the claim timeout.
        log.error(
          { ...(decoded.ok && jobLogFields(decoded.message)), err, entryId },
          'job could not be completed; entry left pending',
        );
      })
      .finally(() => {
        inFlight.delete(entryId);
        slotFreed?.();
        slotFreed = undefined;
      });
    inFlight.set(entryId, { entryId, job: decoded.ok ? decoded.message : undefined, done });
  }

  const freeSlots = () => settings.concurrency - inFlight.size;

  function waitForSlot(): Promise<void> {
    if (freeSlots() > 0 || stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      slotFreed = resolve;
    });
  }

  /** Sleeps, unless `signal` aborts first. */
  async function pause(ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, undefined, { signal }).catch((err: unknown) => {
      if (!isAbort(err)) throw err;
    });
  }

  async function read(cursor: string): Promise<StreamReply> {
    // '0' re-reads this consumer's own pending entries (left by a previous run under the
    // same name) without blocking; '>' waits for new ones, not longer than a claim
    // timeout, so that stale entries are reclaimed between reads.
    const block = cursor === '>' ? ['BLOCK', Math.min(settings.blockMs, settings.claimIdleMs)] : [];
    const args = ['GROUP', keys.group, settings.name, 'COUNT', freeSlots(), ...block, 'STREAMS', keys.jobs, cursor];
    return (await reader.call('XREADGROUP', ...args)) as StreamReply;
  }

  /**
   * Takes over stale entries of dead consumers, at most once per upkeep
   * period. It runs in the read loop, between reads, so that reads and
   * reclaims never both count on the same free slots.
   */
  let nextClaimAt = 0;
  async function reclaim(): Promise<void> {
    if (Date.now() < nextClaimAt) return;
    nextClaimAt = Date.now() + upkeepEveryMs;
    try {
      const claimed = await recovery.claimStale(freeSlots());
      // An entry still running here came back because one of our heartbeats was late: not a reclaim.
      const taken = claimed.filter(([entryId]) => !inFlight.has(entryId));
      stats.reclaimed += taken.length;
      for (const entry of taken) track(entry);
    } catch (error) {
      log.warn({ err: error }, 'reclaiming stale entries failed; trying again');
    }
  }

  async function readLoop(): Promise<void> {
    let failures = 0;
    let cursor = '0';
    while (!stopping.signal.aborted) {
      await waitForSlot();
      if (stopping.signal.aborted) break;
      if (cursor === '>') await reclaim();
      // COUNT 0 would mean "no limit".
      if (freeSlots() <= 0) continue;
      let reply: StreamReply;
      try {
        reply = await read(cursor);
        failures = 0;
      } catch (error) {
        if (stopping.signal.aborted) break;
        failures += 1;
        if (messageOf(error).startsWith('NOGROUP')) {
          log.warn('consumer group missing (Redis restarted empty?); recreating it');
          await ensureGroup().catch((err: unknown) => log.warn({ err }, 'could not recreate the group'));
        } else {
          log.warn({ err: error }, 'XREADGROUP failed; retrying');
        }
        await pause(Math.min(READ_RETRY_MIN_MS * 2 ** (failures - 1), READ_RETRY_MAX_MS), stopping.signal);
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      if (cursor !== '>') {
        // Own history: go on from the last entry, or switch to new entries once it is read.
        const last = entries.at(-1);
        cursor = last ? last[0] : '>';
      }
      // Entries read are ours (pending under our name) even if we are stopping: run them.
      for (const entry of entries) track(entry);
    }
  }

  // Entries another consumer took over while this one stalled: no longer heartbeated.
  const lost = new Set<string>();
  async function heartbeat(): Promise<void> {
    const held = [...inFlight.values()].filter(({ entryId }) => !lost.has(entryId));
    for (const entryId of await recovery.heartbeat(held)) {
      lost.add(entryId);
      log.warn({ entryId }, 'entry taken over by another consumer after a stall; finishing the run in hand anyway');
    }
    for (const entryId of lost) if (!inFlight.has(entryId)) lost.delete(entryId);
  }

  async function upkeepLoop(): Promise<void> {
    const sweepEveryMs = Math.min(IDLE_SWEEP_MAX_MS, settings.removeIdleConsumersAfterMs / 2);
    let nextSweep = Date.now() + sweepEveryMs;
    let nextHeartbeat = 0;
    while (!upkeepStop.signal.aborted) {
      try {
        if (Date.now() >= nextHeartbeat) {
          nextHeartbeat = Date.now() + heartbeatEveryMs;
          await heartbeat();
        }
        if (!stopping.signal.aborted) {
          await recovery.promoteRetries();
          if (Date.now() >= nextSweep) {
            nextSweep = Date.now() + sweepEveryMs;
            await recovery.removeIdleConsumers();
          }
        }
      } catch (error) {
        if (!upkeepStop.signal.aborted) log.warn({ err: error }, 'group upkeep failed; trying again');
      }
      await pause(upkeepEveryMs, upkeepStop.signal);
    }
  }

  async function unblockReader(): Promise<void> {
    const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    for (const line of clients.split('\n')) {
      if (!line.includes(` name=${readerName} `)) continue;
      const id = /^id=(\d+)/.exec(line)?.[1];
      if (id) await redis.client('UNBLOCK', id);
    }
  }

  /**
   * Wakes a blocked XREADGROUP (CLIENT UNBLOCK makes it return as if timed
   * out, so no entry is half-delivered) until the read loop has seen `stopping`.
   * If Redis cannot be reached to do so, the reader is dropped instead.
   */
  async function interruptRead(): Promise<void> {
    let done = false;
    const finished = reading?.finally(() => {
      done = true;
    });
    const giveUpAt = Date.now() + UNBLOCK_PATIENCE_MS;
    while (!done) {
      if (Date.now() > giveUpAt) {
        reader.disconnect();
        break;
      }
      await Promise.race([unblockReader().catch(() => undefined), sleep(UNBLOCK_RETRY_MS)]);
      await Promise.race([finished, sleep(UNBLOCK_RETRY_MS)]);
    }
  }

  /** Runs the jobs in hand to their end, or aborts them once the grace period is over. */
  async function drain(): Promise<void> {
    if (inFlight.size === 0) return;
    log.info({ inFlight: inFlight.size }, 'draining jobs in hand');
    const running = () => [...inFlight.values()].map(({ done }) => done);
    const drained = Promise.allSettled(running()).then(() => true);
    const inTime = await Promise.race([drained, sleep(settings.shutdownGraceMs, false, { ref: false })]);
    if (!inTime) {
      log.warn({ inFlight: inFlight.size }, 'shutdown grace period over; stopping the jobs in hand');
      hardStop.abort();
    }
    await Promise.allSettled(running());
  }

  return {
    stats,
    inFlight: () => inFlight.size,

    async start() {
      if (reading) return;
      // At maxmemory the group cannot be created (XGROUP CREATE is refused): the
      // read loop creates it on NOGROUP once Redis has room, rather than a crash loop.
      await ensureGroup().catch((err: unknown) => {
        if (!messageOf(err).startsWith('OOM')) throw err;
        log.warn({ err }, 'Redis is full: the consumer group will be created once it has room');
      });
      // Subscribed before the first job is read: no cancel of a job it runs is missed.
      await cancels.ready;
      const crashed = (err: unknown) => log.fatal({ err }, 'consumer loop crashed');
      reading = readLoop().catch(crashed);
      upkeep = upkeepLoop().catch(crashed);
      log.info({ consumer: settings.name, concurrency: settings.concurrency }, 'consumer started');
    },

    close() {
      closing ??= (async () => {
        stopping.abort();
        slotFreed?.();
        if (reading) await interruptRead();
        await reading;
        await drain();
        upkeepStop.abort();
        await upkeep;
        await reader.quit().catch(() => reader.disconnect());
        await cancels.close();
        log.info({ stats }, 'consumer stopped');
      })();
      return closing;
    },
  };
}
