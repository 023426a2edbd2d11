import type { RedisKeys } from '@foretell/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type { TSchema } from 'typebox';
import { Type } from '@foretell/shared';
import type { AccessControl } from '../auth/access-control.js';
import { errorResponse, RedisUnavailableResponse, RetryAfterHeader, UnauthorizedResponse } from '../http-schemas.js';
import type { JobStore } from '../job-store.js';
import { BEARER_SCHEME } from '../openapi.js';
import { countParam, entryIdParam, jobIdParam } from './dashboard-input.js';
import {
  DeadLettersSchema,
  JobViewSchema,
  MAX_DEAD_LETTERS_LISTED,
  OverviewSchema,
  ReplayedSchema,
} from './dashboard-schemas.js';
import { createDeadLetterBoard } from './dead-letter-view.js';
import { readJobView } from './job-view.js';
import { readOverview } from './overview.js';

export interface DataRoutesOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly store: JobStore;
  readonly resultTtlSeconds: number;
  /** API keys are on: every data route needs one, and a job's data is its key's only. */
  readonly access: AccessControl | undefined;
}

const TAGS = ['dashboard'];

const invalidRequest = (description: string, error: string) =>
  errorResponse(description, { error: `Invalid request: ${error}.`, code: 'INVALID_REQUEST' });

const RedisAwayOrFull = {
  ...errorResponse(
    'Redis is unreachable (`REDIS_UNAVAILABLE`), or refused the write at `maxmemory` (`REDIS_FULL`); retry after `Retry-After` seconds.',
    { error: 'The queue is unavailable; retry later.', code: 'REDIS_UNAVAILABLE' },
  ),
  headers: RetryAfterHeader,
};

/**
 * The JSON the dashboard page polls, under /dashboard/api/. Counts are
 * global; what names one job (a dead letter's input and reason, a replay, a
 * search) follows GET /predict/{id}: with keys on, another key's job is not
 * found. Only the key check runs, not the per-key rate limit: a page that
 * polls every few seconds would spend a client's budget.
 */
export const dashboardDataRoutes: FastifyPluginAsyncTypebox<DataRoutesOptions> = async (
  app,
  { redis, keys, store, resultTtlSeconds, access },
) => {
  if (access) app.addHook('onRequest', access.requireKey);
  const keyed: { security?: Record<string, string[]>[]; responses: Record<number, TSchema> } = access
    ? { security: [{ [BEARER_SCHEME]: [] }], responses: { 401: UnauthorizedResponse } }
    : { responses: {} };
  const security = keyed.security ? { security: keyed.security } : {};
  const board = createDeadLetterBoard(redis, keys, resultTtlSeconds);

  app.get(
    '/dashboard/api/overview',
    {
      schema: {
        operationId: 'getDashboardOverview',
        tags: TAGS,
        summary: "The queue's counts, the consumers, and the consumers' latest job and model counts",
        ...security,
        response: { 200: OverviewSchema, 503: RedisUnavailableResponse, ...keyed.responses },
      },
    },
    () => readOverview(redis, keys),
  );

  app.get(
    '/dashboard/api/dead-letters',
    {
      schema: {
        operationId: 'listDeadLetters',
        tags: TAGS,
        summary: 'The oldest dead letters, with their reasons',
        ...security,
        querystring: Type.Object(
          {
            count: Type.Optional(
              Type.String({
                description: `How many, a whole number from 1 to ${MAX_DEAD_LETTERS_LISTED}; 20 when absent.`,
                examples: ['20'],
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: DeadLettersSchema,
          400: invalidRequest(
            '`count` is not a whole number in range, or an unknown parameter.',
            `querystring/count must be a whole number from 1 to ${MAX_DEAD_LETTERS_LISTED}`,
          ),
          503: RedisUnavailableResponse,
          ...keyed.responses,
        },
      },
    },
    (request) => board.list(countParam(request.query.count), request.apiKeyId ?? undefined),
  );

  app.post(
    '/dashboard/api/dead-letters/:entryId/replay',
    {
      schema: {
        operationId: 'replayDeadLetter',
        tags: TAGS,
        summary: "Queue a dead letter's job again (as new: attempts 0, TTL renewed) and remove the letter",
        ...security,
        params: Type.Object({
          entryId: Type.String({
            description: 'The letter’s id in the dead-letter stream (`entryId` in the list).',
            examples: ['1767225600000-0'],
          }),
        }),
        response: {
          200: { ...ReplayedSchema, description: 'Queued again under its own id.' },
          400: invalidRequest(
            'Not a stream entry id.',
            'params/entryId must be a dead letter id such as 1767225600000-0',
          ),
          404: errorResponse(
            access
              ? 'No such letter for this API key: never there, replayed already, or another key’s.'
              : 'No such letter: never there, or replayed already.',
            { error: 'Dead letter not found.', code: 'DEAD_LETTER_NOT_FOUND' },
          ),
          409: errorResponse('The letter names no valid job (an entry that did not parse); it stays.', {
            error: 'This dead letter names no valid job; it cannot be replayed.',
            code: 'NOT_REPLAYABLE',
          }),
          503: RedisAwayOrFull,
          ...keyed.responses,
        },
      },
    },
    (request) => board.replay(entryIdParam(request.params.entryId), request.apiKeyId ?? undefined),
  );

  app.get(
    '/dashboard/api/jobs/:id',
    {
      schema: {
        operationId: 'getDashboardJob',
        tags: TAGS,
        summary: "One job's record, by id",
        ...security,
        params: Type.Object({
          id: Type.String({ description: 'A prediction id.', examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'] }),
        }),
        response: {
          200: JobViewSchema,
          400: invalidRequest('Not a prediction id.', 'params/id must be a prediction id (a UUID)'),
          404: errorResponse(
            access
              ? 'No job with this id for this API key: never issued, another key’s, or expired.'
              : 'No job with this id: never issued, or expired.',
            { error: 'Prediction ID not found.', code: 'JOB_NOT_FOUND' },
          ),
          503: RedisUnavailableResponse,
          ...keyed.responses,
        },
      },
    },
    (request) => readJobView(store, redis, keys, jobIdParam(request.params.id), request.apiKeyId ?? undefined),
  );
};
