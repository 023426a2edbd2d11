import { decodeJobMessage, type RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { defineJobScripts } from './job-scripts.js';

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
  /** The API key id that submitted the job, when API keys are on. */
  readonly owner?: string;
  /** The ref of the model that failed the job (`HGET {prefix}:models <ref>` names it); absent for a poison entry. */
  readonly model?: string;
}

type Entry = [id: string, fields: string[]];

function asRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}

/** The job a dead entry stands for: its own fields, or the poison entry's original fields if they parse now. */
function jobOf(record: Record<string, string>): { id: string; input: string; owner?: string } | undefined {
  if (record.id !== undefined && record.input !== undefined) {
    return { id: record.id, input: record.input, ...(record.owner !== undefined && { owner: record.owner }) };
  }
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
    ...(job?.owner !== undefined && { owner: job.owner }),
    ...(record.attempts !== undefined && { attempts: Number(record.attempts) }),
    ...(record.model !== undefined && { model: record.model }),
  };
}

export class NotReplayableError extends Error {
  override readonly name = 'NotReplayableError';
}

/**
 * Lists and replays dead letters. A replay queues the job again as new
 * (attempts 0, TTL renewed; its hash is recreated if it expired) and removes
 * the dead entry, in one script (replay-dead-letter), which also keeps the
 * backlog byte count and the owner's count of jobs.
 */
export function createDeadLetters(redis: Redis, keys: RedisKeys, resultTtlSeconds: number) {
  defineJobScripts(redis);

  async function replayEntry(entry: Entry): Promise<DeadLetter> {
    const letter = toDeadLetter(entry);
    if (letter.jobId === undefined || letter.input === undefined) {
      throw new NotReplayableError(`dead entry ${letter.entryId} names no valid job (${letter.reason})`);
    }
    const scriptKeys = [keys.job(letter.jobId), keys.jobs, keys.dead, keys.backlogBytes];
    if (letter.owner !== undefined) scriptKeys.push(keys.ownerJobs(letter.owner));
    const replayed = await redis.foretellReplayDeadLetter(
      scriptKeys.length,
      ...scriptKeys,
      letter.jobId,
      letter.input,
      String(resultTtlSeconds),
      letter.entryId,
      letter.owner ?? '',
    );
    if (replayed !== 1) throw new NotReplayableError(`dead entry ${letter.entryId} was replayed meanwhile`);
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
