import { decodeJobMessage, type RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';

/** One entry of `{prefix}:dead`: a job that failed for good, or a stream entry that did not parse. */
export interface DeadLetter {
  readonly entryId: string;
  /** When it was dead-lettered (the entry id's time part). */
  readonly at: Date;
  readonly reason: string;
  /** Present for failed jobs, and for poison entries whose fields parse. */
  readonly jobId?: string;
  readonly input?: string;
  readonly attempts?: number;
}

type Entry = [id: string, fields: string[]];

function asRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}

/** The job a dead entry stands for: its own fields, or the poison entry's original fields if they parse now. */
function jobOf(record: Record<string, string>): { id: string; input: string } | undefined {
  if (record.id !== undefined && record.input !== undefined) return { id: record.id, input: record.input };
  if (record.fields === undefined) return undefined;
  try {
    const original: unknown = JSON.parse(record.fields);
    if (!Array.isArray(original) || !original.every((field) => typeof field === 'string')) return undefined;
    const decoded = decodeJobMessage(original);
    return decoded.ok ? decoded.message : undefined;
  } catch {
    return undefined;
  }
}

function toDeadLetter([entryId, fields]: Entry): DeadLetter {
  const record = asRecord(fields);
  const job = jobOf(record);
  return {
    entryId,
    at: new Date(Number(entryId.split('-')[0])),
    reason: record.reason ?? '',
    ...(job && { jobId: job.id, input: job.input }),
    ...(record.attempts !== undefined && { attempts: Number(record.attempts) }),
  };
}

export class NotReplayableError extends Error {
  override readonly name = 'NotReplayableError';
}

/**
 * Lists and replays dead letters. A replay queues the job again as new
 * (attempts 0, TTL renewed; its hash is recreated if it expired) and removes
 * the dead entry, in one transaction.
 */
export function createDeadLetters(redis: Redis, keys: RedisKeys, resultTtlSeconds: number) {
  async function replayEntry(entry: Entry): Promise<DeadLetter> {
    const letter = toDeadLetter(entry);
    if (letter.jobId === undefined || letter.input === undefined) {
      throw new NotReplayableError(`dead entry ${letter.entryId} names no valid job (${letter.reason})`);
    }
    const jobKey = keys.job(letter.jobId);
    const results = await redis
      .multi()
      .hdel(jobKey, 'result', 'reason', 'started', 'finished')
      .hset(jobKey, 'status', 'queued', 'input', letter.input, 'attempts', '0', 'created', String(Date.now()))
      .expire(jobKey, resultTtlSeconds)
      .xadd(keys.jobs, '*', 'id', letter.jobId, 'input', letter.input)
      .xdel(keys.dead, letter.entryId)
      .exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
    return letter;
  }

  return {
    async list(count: number): Promise<DeadLetter[]> {
      return ((await redis.xrange(keys.dead, '-', '+', 'COUNT', count)) as Entry[]).map(toDeadLetter);
    },

    async replay(entryId: string): Promise<DeadLetter> {
      const [entry] = (await redis.xrange(keys.dead, entryId, entryId)) as Entry[];
      if (!entry) throw new NotReplayableError(`no dead entry ${entryId}`);
      return replayEntry(entry);
    },

    /** Replays every replayable entry; the others stay, and are reported. */
    async replayAll(): Promise<{ replayed: DeadLetter[]; skipped: DeadLetter[] }> {
      const replayed: DeadLetter[] = [];
      const skipped: DeadLetter[] = [];
      let from = '-';
      for (;;) {
        const batch = (await redis.xrange(keys.dead, from, '+', 'COUNT', 500)) as Entry[];
        for (const entry of batch) {
          try {
            replayed.push(await replayEntry(entry));
          } catch (error) {
            if (!(error instanceof NotReplayableError)) throw error;
            skipped.push(toDeadLetter(entry));
          }
        }
        const last = batch.at(-1);
        if (batch.length < 500 || !last) return { replayed, skipped };
        from = `(${last[0]}`;
      }
    },
  };
}
