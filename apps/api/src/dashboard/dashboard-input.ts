import { AppError } from '../errors.js';
import { DEFAULT_DEAD_LETTERS_LISTED, MAX_DEAD_LETTERS_LISTED } from './dashboard-schemas.js';

// Checked in the handlers rather than by schema patterns: the 400 then says
// what is expected in words, not as a regular expression.

// Ids are issued as UUIDs (crypto.randomUUID); anything else names no job.
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A stream entry id: two 64-bit integers.
const ENTRY_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;
const COUNT = /^[0-9]{1,3}$/;

function invalid(sentence: string): AppError {
  return new AppError('INVALID_REQUEST', `Invalid request: ${sentence}.`);
}

export function jobIdParam(id: string): string {
  if (!JOB_ID.test(id)) throw invalid('params/id must be a prediction id (a UUID)');
  return id;
}

export function entryIdParam(entryId: string): string {
  if (!ENTRY_ID.test(entryId)) throw invalid('params/entryId must be a dead letter id such as 1767225600000-0');
  return entryId;
}

export function countParam(count: string | undefined): number {
  if (count === undefined) return DEFAULT_DEAD_LETTERS_LISTED;
  const value = COUNT.test(count) ? Number(count) : Number.NaN;
  if (!(value >= 1 && value <= MAX_DEAD_LETTERS_LISTED)) {
    throw invalid(`querystring/count must be a whole number from 1 to ${MAX_DEAD_LETTERS_LISTED}`);
  }
  return value;
}
