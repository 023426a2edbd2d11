import type { Redis, Result } from 'ioredis';
import { decodeJobMessage } from './job-message.js';
import { REPLAY_DEAD_LETTER_LUA } from './lua/replay-dead-letter.js';
import type { RedisKeys } from './redis-keys.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** replay-dead-letter.lua; the number of keys comes first. */
    foretellReplayDeadLetter(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

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
  let original: unknown;
  try {
    original = JSON.parse(record.fields);
  } catch {
    // Written by dead-letter-entry as JSON; anything else names no job.
    return undefined;
  }
  if (!Array.isArray(original) || !original.every((field) => typeof field === 'string')) return undefined;
  const decoded = decodeJobMessage(original);
  return decoded.ok ? decoded.message : undefined;
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

/**
 * Why a replay did nothing: `not-found` (no such entry, replayed meanwhile,
 * or another owner's when an owner is required), `no-job` (the entry names
 * no valid job: it stays). The message is for operators (the CLI prints it).
 */
export class NotReplayableError extends Error {
  override readonly name = 'NotReplayableError';
  constructor(
    readonly kind: 'not-found' | 'no-job',
    message: string,
  ) {
    super(message);
  }
}

export interface ReplayOptions {
  /**
   * API keys on: only that owner's letters may be replayed; another's is
   * `not-found`, exactly as its job is not found by GET /predict/{id}.
   */
  readonly ownerId?: string;
}

export interface DeadLetters {
  /** The oldest `count` dead letters. */
  list(count: number): Promise<DeadLetter[]>;
  /** One dead letter; undefined when there is no such entry. */
  read(entryId: string): Promise<DeadLetter | undefined>;
  /** Queues the letter's job again; throws NotReplayableError when it cannot. */
  replay(entryId: string, options?: ReplayOptions): Promise<DeadLetter>;
  /** Replays every replayable entry; the others stay, and are reported. */
  replayAll(): Promise<{ replayed: DeadLetter[]; skipped: DeadLetter[] }>;
}

// Entries per XRANGE of replayAll: bounds one reply's size.
const REPLAY_ALL_BATCH = 500;

/**
 * Lists and replays dead letters, for the `foretell dead` CLI and the API's
 * dashboard. A replay queues the job again as new (attempts 0, TTL renewed;
 * its hash is recreated if it expired) and removes the dead entry, in one
 * script (replay-dead-letter), which also keeps the backlog byte count and
 * the owner's count of jobs. Stream entries never change, so an entry read
 * and checked before its replay is the one the script replays.
 */
export function createDeadLetters(redis: Redis, keys: RedisKeys, resultTtlSeconds: number): DeadLetters {
  redis.defineCommand('foretellReplayDeadLetter', { lua: REPLAY_DEAD_LETTER_LUA });

  async function replayLetter(letter: DeadLetter): Promise<DeadLetter> {
    if (letter.jobId === undefined || letter.input === undefined) {
      throw new NotReplayableError('no-job', `dead entry ${letter.entryId} names no valid job (${letter.reason})`);
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
    if (replayed !== 1) {
      throw new NotReplayableError('not-found', `dead entry ${letter.entryId} was replayed meanwhile`);
    }
    return letter;
  }

  async function read(entryId: string): Promise<DeadLetter | undefined> {
    const [entry] = (await redis.xrange(keys.dead, entryId, entryId)) as Entry[];
    return entry && toDeadLetter(entry);
  }

  return {
    async list(count) {
      return ((await redis.xrange(keys.dead, '-', '+', 'COUNT', count)) as Entry[]).map(toDeadLetter);
    },

    read,

    async replay(entryId, { ownerId } = {}) {
      const letter = await read(entryId);
      if (!letter || (ownerId !== undefined && letter.owner !== ownerId)) {
        throw new NotReplayableError('not-found', `no dead entry ${entryId}`);
      }
      return replayLetter(letter);
    },

    async replayAll() {
      const replayed: DeadLetter[] = [];
      const skipped: DeadLetter[] = [];
      let from = '-';
      for (;;) {
        const batch = (await redis.xrange(keys.dead, from, '+', 'COUNT', REPLAY_ALL_BATCH)) as Entry[];
        for (const entry of batch) {
          try {
            replayed.push(await replayLetter(toDeadLetter(entry)));
          } catch (error) {
            if (!(error instanceof NotReplayableError)) throw error;
            skipped.push(toDeadLetter(entry));
          }
        }
        const last = batch.at(-1);
        if (batch.length < REPLAY_ALL_BATCH || !last) return { replayed, skipped };
        from = `(${last[0]}`;
      }
    },
  };
}
