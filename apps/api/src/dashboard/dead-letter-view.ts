import { createDeadLetters, NotReplayableError, type DeadLetter, type RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { classifyRedisFailure } from '../redis-failure.js';
import { MAX_LISTED_TEXT, type DeadLetters, type DeadLetterView } from './dashboard-schemas.js';

export interface DeadLetterBoard {
  /** The oldest `count` letters and how many there are; with `ownerId`, another key's show only id and time. */
  list(count: number, ownerId: string | undefined): Promise<DeadLetters>;
  /** Queues a letter's job again; another key's letter is not found, as its job is. */
  replay(entryId: string, ownerId: string | undefined): Promise<{ entryId: string; jobId: string; status: 'queued' }>;
}

function cut(text: string): string {
  return text.length > MAX_LISTED_TEXT ? `${text.slice(0, MAX_LISTED_TEXT)}…` : text;
}

/**
 * A letter as the page shows it. Owned means visible by the rule of
 * GET /predict/{id}: every letter without keys, the key's own with keys (a
 * poison entry has no owner, so with keys it is nobody's).
 */
function viewOf(letter: DeadLetter, ownerId: string | undefined): DeadLetterView {
  const at = letter.at.getTime();
  if (ownerId !== undefined && letter.owner !== ownerId) {
    return { entryId: letter.entryId, at, owned: false, replayable: false };
  }
  return {
    entryId: letter.entryId,
    at,
    owned: true,
    replayable: letter.jobId !== undefined && letter.input !== undefined,
    reason: cut(letter.reason),
    ...(letter.jobId !== undefined && { jobId: letter.jobId }),
    ...(letter.input !== undefined && { input: cut(letter.input) }),
    ...(letter.attempts !== undefined && Number.isInteger(letter.attempts) && { attempts: letter.attempts }),
    ...(letter.model !== undefined && { model: letter.model }),
  };
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw classifyRedisFailure(error);
  }
}

/** The dead letters for the dashboard, through the same list and replay as the `foretell dead` CLI. */
export function createDeadLetterBoard(redis: Redis, keys: RedisKeys, resultTtlSeconds: number): DeadLetterBoard {
  const deadLetters = createDeadLetters(redis, keys, resultTtlSeconds);
  return {
    list: (count, ownerId) =>
      guarded(async () => {
        const [total, letters] = await Promise.all([redis.xlen(keys.dead), deadLetters.list(count)]);
        return { total, letters: letters.map((letter) => viewOf(letter, ownerId)) };
      }),

    replay: (entryId, ownerId) =>
      guarded(async () => {
        try {
          const letter = await deadLetters.replay(entryId, ownerId === undefined ? {} : { ownerId });
          return { entryId: letter.entryId, jobId: letter.jobId ?? '', status: 'queued' as const };
        } catch (error) {
          if (!(error instanceof NotReplayableError)) throw error;
          throw new AppError(error.kind === 'no-job' ? 'NOT_REPLAYABLE' : 'DEAD_LETTER_NOT_FOUND');
        }
      }),
  };
}
