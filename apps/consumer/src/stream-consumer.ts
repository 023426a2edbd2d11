import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeJobMessage,
  FINISH_JOB_ALREADY_FINISHED,
  FINISH_JOB_MISSING,
  START_JOB_ALREADY_FINISHED,
  START_JOB_MISSING,
  type Model,
  type RedisKeys,
} from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { defineJobScripts } from './job-scripts.js';

export interface ConsumerSettings {
  readonly name: string;
  readonly concurrency: number;
  readonly blockMs: number;
  readonly resultTtlSeconds: number;
  readonly shutdownGraceMs: number;
}

export interface ConsumerDeps {
  /** Commands connection, shared; the consumer opens (and closes) its own blocking reader. */
  readonly redis: Redis;
  readonly model: Model;
  readonly keys: RedisKeys;
  readonly log: Logger;
  readonly settings: ConsumerSettings;
}

export interface ConsumerStats {
  succeeded: number;
  failed: number;
  /** Entries whose job hash had expired before a consumer reached them. */
  expired: number;
  /** Redeliveries of jobs whose outcome was already stored. */
  duplicates: number;
  /** Entries that did not parse, moved to the dead-letter stream. */
  poison: number;
}

export interface Consumer {
  /** Creates the group if needed and starts reading; resolves once reading has begun. */
  start(): Promise<void>;
  /** Stops reading, lets held jobs finish within the grace period, closes the reader. Idempotent. */
  close(): Promise<void>;
  readonly stats: Readonly<ConsumerStats>;
  inFlight(): number;
}

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

// Backoff after a failed read, capped so a consumer notices Redis's return quickly.
const READ_RETRY_MIN_MS = 100;
const READ_RETRY_MAX_MS = 2000;
// A read issued just after UNBLOCK was sent is not woken by it: send again until the loop ends.
const UNBLOCK_RETRY_MS = 50;
const UNBLOCK_PATIENCE_MS = 2000;

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createConsumer({ redis, model, keys, log, settings }: ConsumerDeps): Consumer {
  defineJobScripts(redis);
  // Named, so that close() can find it with CLIENT LIST even after a reconnect changed its id.
  const readerName = `foretell-reader:${settings.name.replace(/[^\w.:-]/g, '_')}`;
  const reader = redis.duplicate({ connectionName: readerName });
  reader.on('error', (err) => log.warn({ err }, 'redis reader connection error'));

  const stats: ConsumerStats = { succeeded: 0, failed: 0, expired: 0, duplicates: 0, poison: 0 };
  const inFlight = new Set<Promise<void>>();
  // `stopping` ends the read loop; `hardStop` aborts the model calls once the grace period is over.
  const stopping = new AbortController();
  const hardStop = new AbortController();
  let slotFreed: (() => void) | undefined;
  let loop: Promise<void> | undefined;
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

  async function release(entryId: string): Promise<void> {
    await redis.multi().xack(keys.jobs, keys.group, entryId).xdel(keys.jobs, entryId).exec();
  }

  async function deadLetterPoison(entryId: string, fields: string[], reason: string): Promise<void> {
    await redis
      .multi()
      .xadd(keys.dead, '*', 'entry', entryId, 'reason', reason, 'fields', JSON.stringify(fields))
      .xack(keys.jobs, keys.group, entryId)
      .xdel(keys.jobs, entryId)
      .exec();
    stats.poison += 1;
    log.warn({ entryId, reason }, 'poison entry dead-lettered');
  }

  async function runJob(entryId: string, fields: string[]): Promise<void> {
    const decoded = decodeJobMessage(fields);
    if (!decoded.ok) return deadLetterPoison(entryId, fields, decoded.reason);
    const { id, input } = decoded.message;
    const jobKey = keys.job(id);

    const attempt = await redis.foretellStartJob(jobKey, String(Date.now()));
    if (attempt === START_JOB_MISSING || attempt === START_JOB_ALREADY_FINISHED) {
      await release(entryId);
      if (attempt === START_JOB_MISSING) {
        stats.expired += 1;
        log.warn({ jobId: id, entryId }, 'job hash expired before it ran; entry dropped');
      } else {
        stats.duplicates += 1;
      }
      return;
    }

    let outcome: 'succeeded' | 'failed';
    let value: string;
    try {
      const result: unknown = await model.predict(input, { signal: hardStop.signal });
      if (typeof result !== 'string') throw new TypeError(`the model returned a ${typeof result}, not a string`);
      [outcome, value] = ['succeeded', result];
    } catch (error) {
      if (hardStop.signal.aborted) {
        log.warn({ jobId: id, entryId }, 'shutdown grace period over; job left pending for another consumer');
        return;
      }
      [outcome, value] = ['failed', messageOf(error)];
      log.warn({ jobId: id, err: error }, 'model failed');
    }

    const written = await redis.foretellFinishJob(
      jobKey,
      keys.jobs,
      keys.dead,
      keys.group,
      entryId,
      id,
      outcome,
      value,
      String(Date.now()),
      String(settings.resultTtlSeconds),
      keys.done,
    );
    if (written === FINISH_JOB_ALREADY_FINISHED) stats.duplicates += 1;
    else if (written === FINISH_JOB_MISSING) stats.expired += 1;
    else stats[outcome] += 1;
  }

  function track(entryId: string, fields: string[]): void {
    const job = runJob(entryId, fields)
      .catch((err: unknown) => {
        // Not acked: the entry stays pending and is delivered again.
        log.error({ err, entryId }, 'job could not be completed; entry left pending');
      })
      .finally(() => {
        inFlight.delete(job);
        slotFreed?.();
        slotFreed = undefined;
      });
    inFlight.add(job);
  }

  function waitForSlot(): Promise<void> {
    if (inFlight.size < settings.concurrency || stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      slotFreed = resolve;
    });
  }

  async function readLoop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      await waitForSlot();
      if (stopping.signal.aborted) break;
      let reply: StreamReply;
      try {
        reply = (await reader.xreadgroup(
          'GROUP',
          keys.group,
          settings.name,
          'COUNT',
          settings.concurrency - inFlight.size,
          'BLOCK',
          settings.blockMs,
          'STREAMS',
          keys.jobs,
          '>',
        )) as StreamReply;
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
        const delay = Math.min(READ_RETRY_MIN_MS * 2 ** (failures - 1), READ_RETRY_MAX_MS);
        await sleep(delay, undefined, { signal: stopping.signal }).catch((err: unknown) => {
          if (!isAbort(err)) throw err;
        });
        continue;
      }
      // Entries read are ours (pending under our name) even if we are stopping: run them.
      for (const [, entries] of reply ?? []) {
        for (const [entryId, fields] of entries) track(entryId, fields);
      }
    }
  }

  /**
   * Wakes a blocked XREADGROUP (CLIENT UNBLOCK makes it return as if timed
   * out, so no entry is half-delivered) until the loop has seen `stopping`.
   * If Redis cannot be reached to do so, the reader is dropped instead.
   */
  async function unblockReader(): Promise<void> {
    const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    for (const line of clients.split('\n')) {
      if (!line.includes(` name=${readerName} `)) continue;
      const id = /^id=(\d+)/.exec(line)?.[1];
      if (id) await redis.client('UNBLOCK', id);
    }
  }

  async function interruptRead(): Promise<void> {
    let done = false;
    const finished = loop?.finally(() => {
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

  return {
    stats,
    inFlight: () => inFlight.size,

    async start() {
      if (loop) return;
      await ensureGroup();
      loop = readLoop().catch((err: unknown) => log.fatal({ err }, 'read loop crashed'));
      log.info({ consumer: settings.name, concurrency: settings.concurrency }, 'consumer started');
    },

    close() {
      closing ??= (async () => {
        stopping.abort();
        slotFreed?.();
        if (loop) await interruptRead();
        await loop;
        if (inFlight.size > 0) {
          log.info({ inFlight: inFlight.size }, 'draining jobs in hand');
          const drained = Promise.allSettled([...inFlight]).then(() => true);
          const inTime = await Promise.race([drained, sleep(settings.shutdownGraceMs, false, { ref: false })]);
          if (!inTime) hardStop.abort();
          await Promise.allSettled([...inFlight]);
        }
        await reader.quit().catch(() => reader.disconnect());
        log.info({ stats }, 'consumer stopped');
      })();
      return closing;
    },
  };
}
