import {
  acceptedTraceparent,
  AsyncAcceptedSchema,
  identityOf,
  LazyAbort,
  MESSAGES,
  PredictionCanceledSchema,
  PredictionFailedSchema,
  predictionSchemasFor,
  type ModelIdentity,
  Type,
} from '@foretell/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import type { AccessControl } from '../auth/access-control.js';
import {
  errorResponse,
  headersTooLarge,
  RedisUnavailableResponse,
  requestTimeout,
  RetryAfterHeader,
  UnauthorizedResponse,
} from '../http-schemas.js';
import { BEARER_SCHEME } from '../openapi.js';
import type { PredictionLookup, PredictionService } from '../prediction-service.js';
import type { Model } from '@foretell/shared';
import { SECONDS_PATTERN, VISIBLE_ASCII_PATTERN } from '../validation-messages.js';
import { awaitJob } from '../waiting/await-job.js';
import type { JobNotifier } from '../waiting/job-notifier.js';
import { parsePrefer } from '../waiting/prefer-header.js';
import {
  checkWebhookRequest,
  namesWebhook,
  type WebhookFields,
  type WebhookRequestSettings,
} from '../webhook-request.js';
import { cancelRoute } from './cancel-route.js';
import { eventsRoute } from './events-route.js';
import { namedPlugin } from '../named-plugin.js';

export interface PredictRoutesOptions {
  readonly predictions: PredictionService;
  /** Its name and version go out with every sync answer. */
  readonly model: Pick<Model, 'name' | 'version' | 'schemas'>;
  /** API keys are on: every route needs one, and its jobs are its own. */
  readonly access?: AccessControl | undefined;
  /** Long-poll: the process's notifier of finished jobs, and the longest wait (MAX_WAIT_SECONDS). */
  readonly waiting: { readonly notifier: JobNotifier; readonly maxWaitSeconds: number };
  /** Whether webhooks are on (WEBHOOK_SECRET), and which targets they may have. */
  readonly webhooks: WebhookRequestSettings;
}

/** Seconds a client should wait before polling a job that is still running again. */
const POLL_RETRY_AFTER_SECONDS = 1;

/** `Async-Mode: true`, case-insensitive and trimmed; any other value means sync. */
export function isAsyncMode(header: string | undefined): boolean {
  return header !== undefined && header.trim().toLowerCase() === 'true';
}

const PREFER_DESCRIPTION =
  'RFC 7240 preferences; unknown or malformed ones are ignored. `wait=N`: hold the answer up to N seconds ' +
  '(capped at `MAX_WAIT_SECONDS`) until the job finishes';

const PreferenceAppliedHeader = {
  'Preference-Applied': {
    type: 'string',
    description:
      'The `Prefer` preferences honoured, e.g. `respond-async, wait=10` (the wait as capped). Absent when none was, ' +
      'e.g. with `MAX_WAITERS` requests waiting already.',
  },
} as const;

const PostHeadersSchema = Type.Object({
  'async-mode': Type.Optional(
    Type.String({
      // No example: Swagger UI would pre-fill it, and "Try it out" would run async by default.
      description:
        '`true` (any case) queues the job and answers 202 at once; absent or any other value runs it now (unless ' +
        '`Prefer: respond-async`).',
    }),
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      // Visible ASCII: it becomes part of a Redis key.
      pattern: VISIBLE_ASCII_PATTERN,
      description:
        'Async mode only. The same key with the same body while its job is kept (`RESULT_TTL_SECONDS`) returns the first ' +
        "request's `prediction_id` (header `Idempotent-Replayed: true`) and enqueues nothing; with another body, 422. " +
        'For example `order-1234`.',
    }),
  ),
  prefer: Type.Optional(
    Type.String({
      description:
        `${PREFER_DESCRIPTION}: with async mode, a job done in time answers 200 with the sync body, otherwise 202. ` +
        '`respond-async`: async mode, as `Async-Mode: true`. For example `respond-async, wait=10`.',
      // No `examples`: Swagger UI would pre-fill it, and "Try it out" would run async by default.
    }),
  ),
});

/**
 * The 429 of a route, for the per-key limits that are on (the jobs cap only
 * where jobs are queued); undefined when none is.
 */
function tooManyRequests(access: AccessControl, countsJobs: boolean): TSchema | undefined {
  const reasons: { text: string; error: string; code: string }[] = [];
  if (access.rateLimitPerMinute > 0) {
    reasons.push({
      text: 'more than `RATE_LIMIT_PER_MINUTE` requests with this key in the current minute (`RATE_LIMITED`)',
      error: 'Too many requests with this API key; retry after Retry-After seconds.',
      code: 'RATE_LIMITED',
    });
  }
  if (countsJobs && access.maxJobsPerKey > 0) {
    reasons.push({
      text: 'async mode: `MAX_JOBS_PER_KEY` jobs of this key queued or running (`TOO_MANY_JOBS`)',
      error: 'This API key has too many jobs queued or running; retry once some have finished.',
      code: 'TOO_MANY_JOBS',
    });
  }
  const [first] = reasons;
  if (first === undefined) return undefined;
  const description = `${reasons.map((reason) => reason.text).join('; or ')}; retry after \`Retry-After\` seconds.`;
  return { ...errorResponse(description, { error: first.error, code: first.code }), headers: RetryAfterHeader };
}

/**
 * What API keys add to a route's schema: the bearer scheme (Swagger UI's
 * "Authorize" sends it) and the 401 and 429 answers. Nothing without keys,
 * so the open deployment's document stays as it was.
 */
function keyedSchema(
  access: AccessControl | undefined,
  countsJobs: boolean,
): { security?: Record<string, string[]>[]; responses: Record<number, TSchema> } {
  if (!access) return { responses: {} };
  const responses: Record<number, TSchema> = { 401: UnauthorizedResponse };
  const tooMany = tooManyRequests(access, countsJobs);
  if (tooMany) responses[429] = tooMany;
  return { security: [{ [BEARER_SCHEME]: [] }], responses };
}

const badRequest = errorResponse(
  'Malformed JSON (`INVALID_JSON`), an empty body with a JSON content type (`EMPTY_BODY`), or (`INVALID_REQUEST`) ' +
    'a missing, empty or non-string `input`, a string that is not well-formed Unicode, unknown properties, ' +
    'or a malformed `Idempotency-Key`.',
  {
    error: "Invalid request: body must have the property 'input'.",
    code: 'INVALID_REQUEST',
  },
);

/** The headers naming the model that made an answer (sync, or a finished job's). */
function modelHeadersOf({ name, version }: ModelIdentity): Record<string, string> {
  return { 'foretell-model-name': name, 'foretell-model-version': version };
}

const ModelHeaders = {
  'Foretell-Model-Name': { type: 'string', description: 'The model that answered, e.g. `mock`.' },
  'Foretell-Model-Version': { type: 'string', description: 'Its version, e.g. `1.0.0`.' },
} as const;

/** Whether a job's answer is final: waiting for it ends. */
const isFinished = (lookup: PredictionLookup) => lookup.kind !== 'pending';

export const predictRoutes: FastifyPluginAsyncTypebox<PredictRoutesOptions> = async (
  app,
  { predictions, access, model, waiting, webhooks },
) => {
  // In this plugin's scope only: /health, /ready and (unless DOCS_PUBLIC=false) /docs stay open.
  if (access) app.addHook('onRequest', access.admit);
  const post = keyedSchema(access, true);
  // The model's own schemas when it declared them (its inputs and results are JSON), the contract's strings otherwise.
  const shapes = predictionSchemasFor(model.schemas);
  // Built once: every sync answer names the model that made it (the loader checked both are header-safe).
  const identity = identityOf(model);
  const modelHeaders = identity && modelHeadersOf(identity);
  const get = keyedSchema(access, false);

  app.post(
    '/predict',
    {
      schema: {
        operationId: 'createPrediction',
        tags: ['predictions'],
        summary: 'Run the model now, or queue it with Async-Mode: true',
        ...(post.security && { security: post.security }),
        headers: PostHeadersSchema,
        body: shapes.request,
        response: {
          200: {
            ...shapes.output,
            description:
              'The model ran synchronously; or, async with `Prefer: wait=N`, the job succeeded within the wait ' +
              '(the same body as sync).',
            headers: { ...ModelHeaders, ...PreferenceAppliedHeader },
          },
          202: {
            ...AsyncAcceptedSchema,
            description:
              'Queued (with `Prefer: wait=N`: not succeeded within the wait); poll or wait on ' +
              '`GET /predict/{prediction_id}` (also in `Location`).',
            headers: {
              Location: { type: 'string', description: '/predict/{prediction_id}' },
              'Idempotent-Replayed': {
                type: 'string',
                description: '`true` when an Idempotency-Key repeat returned the first request’s id.',
              },
              ...PreferenceAppliedHeader,
            },
          },
          400: badRequest,
          408: requestTimeout,
          413: errorResponse('The body is over the limit (`BODY_LIMIT_BYTES`).', {
            error: 'Request body is too large.',
            code: 'BODY_TOO_LARGE',
          }),
          422: errorResponse('Async mode: the Idempotency-Key was already used with a different body.', {
            error: 'This Idempotency-Key was already used with a different request body.',
            code: 'IDEMPOTENCY_KEY_REUSED',
          }),
          415: errorResponse('The body is not `application/json`.', {
            error: 'Unsupported content type; send application/json.',
            code: 'UNSUPPORTED_MEDIA_TYPE',
          }),
          431: headersTooLarge,
          500: errorResponse('The model threw, or an unexpected error.', {
            error: 'The model failed to make a prediction.',
            code: 'MODEL_FAILED',
          }),
          503: {
            ...errorResponse(
              'Redis is unreachable or did not answer within `REDIS_TIMEOUT_MS` (`REDIS_UNAVAILABLE`; an async job ' +
                'may still have been queued: retry with the same `Idempotency-Key`), Redis is at `maxmemory` ' +
                '(`REDIS_FULL`), the backlog is at `MAX_QUEUE_LENGTH` jobs or `MAX_QUEUE_BYTES` of input ' +
                '(`QUEUE_FULL`), `MAX_SYNC_IN_FLIGHT` sync predictions are running (`SYNC_OVERLOADED`), ' +
                'sync mode while the model is still loading (`MODEL_LOADING`), ' +
                'with `REDIS_WAIT_REPLICAS`: the job was stored but not confirmed by enough replicas in time ' +
                '(`NOT_REPLICATED`; it may still run), too many webhook deliveries are ' +
                'waiting (`WEBHOOKS_FULL`) or webhook hosts being looked up (`WEBHOOK_LOOKUPS_BUSY`), or the server is stopping (`SHUTTING_DOWN`); ' +
                'retry after `Retry-After` seconds.',
              { error: 'The queue is full; retry later.', code: 'QUEUE_FULL' },
            ),
            headers: RetryAfterHeader,
          },
          504: errorResponse('Sync mode only: the model did not answer within `SYNC_TIMEOUT_MS`.', {
            error: 'The model did not answer in time.',
            code: 'PREDICTION_TIMEOUT',
          }),
          ...post.responses,
        },
      },
    },
    async (request, reply) => {
      // Typed by the schema chosen at start: a string, or the model's JSON value.
      const body = request.body as { input: unknown } & WebhookFields;
      const { input } = body;
      const prefer = parsePrefer(request.headers.prefer);
      const asyncMode = isAsyncMode(request.headers['async-mode']) || prefer.respondAsync;
      // Checked (and awaited: it may resolve a host) only when the body names a webhook.
      const webhook = namesWebhook(body) ? await checkWebhookRequest(body, asyncMode, webhooks) : undefined;
      if (asyncMode) {
        const owner =
          request.apiKeyId === null ? undefined : { id: request.apiKeyId, maxJobs: access?.maxJobsPerKey ?? 0 };
        // The consumer's log lines for the job name the request (and its trace, when the client sent a valid one).
        const traceparent = acceptedTraceparent(request.headers.traceparent);
        const trace = { requestId: request.id, ...(traceparent && { traceparent }) };
        const idempotencyKey = request.headers['idempotency-key'];
        const { id, replayed } = await predictions.submit(input, idempotencyKey, owner, trace, webhook);
        if (replayed) void reply.header('Idempotent-Replayed', 'true');
        const applied = prefer.respondAsync ? ['respond-async'] : [];
        if (prefer.wait !== undefined) {
          const seconds = Math.min(prefer.wait, waiting.maxWaitSeconds);
          const ownerId = request.apiKeyId ?? undefined;
          const { answer, waited } = await awaitJob({
            notifier: waiting.notifier,
            jobId: id,
            seconds,
            read: () => predictions.lookup(id, ownerId),
            isFinal: isFinished,
            response: reply.raw,
          });
          if (waited) applied.push(`wait=${seconds}`);
          if (answer.kind === 'succeeded') {
            // What a sync POST answers: the client asked to wait for the result, and it is here.
            if (answer.model) void reply.headers(modelHeadersOf(answer.model));
            if (applied.length > 0) void reply.header('Preference-Applied', applied.join(', '));
            return reply.send(answer.output);
          }
          // Failed or canceled (its GET tells), still running, or the app is closing: the usual 202.
        }
        if (applied.length > 0) void reply.header('Preference-Applied', applied.join(', '));
        return reply
          .code(202)
          .header('Location', `/predict/${id}`)
          .send({ message: MESSAGES.accepted, prediction_id: id });
      }
      // Stop the model when the client goes away before its answer is sent (or on
      // timeout); the connection is watched only if the model looks at the signal.
      const onClose = () => {
        if (!reply.raw.writableEnded) cancel.abort(new Error('client closed the connection'));
      };
      const cancel = new LazyAbort(() => reply.raw.once('close', onClose));
      try {
        const output = await predictions.predictNow(input, cancel);
        if (modelHeaders) void reply.headers(modelHeaders);
        return output;
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  await app.register(namedPlugin('prediction-events', eventsRoute), {
    predictions,
    notifier: waiting.notifier,
    keyed: get,
  });
  await app.register(namedPlugin('prediction-cancel', cancelRoute), { predictions, keyed: get });

  app.get(
    '/predict/:prediction_id',
    {
      schema: {
        operationId: 'getPrediction',
        tags: ['predictions'],
        summary: 'The result of an async prediction',
        ...(get.security && { security: get.security }),
        params: Type.Object({
          prediction_id: Type.String({
            description: 'The id from the 202 answer.',
            examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'],
          }),
        }),
        querystring: Type.Object({
          wait: Type.Optional(
            Type.String({
              pattern: SECONDS_PATTERN,
              description:
                'Hold the answer up to this many seconds (capped at `MAX_WAIT_SECONDS`) until the job finishes; ' +
                'then, or when the time runs out, the usual answer. Takes precedence over `Prefer: wait`. ' +
                'For example `10`.',
              // No `examples`: Swagger UI would pre-fill it, and every "Try it out" would wait.
            }),
          ),
        }),
        headers: Type.Object({
          prefer: Type.Optional(
            Type.String({
              description: `${PREFER_DESCRIPTION}; then, or when the time runs out, the usual answer. For example \`wait=10\`.`,
            }),
          ),
        }),
        response: {
          200: {
            ...shapes.found,
            description: 'The job finished; `output` holds the result. The headers name the model that made it.',
            headers: { ...ModelHeaders, ...PreferenceAppliedHeader },
          },
          400: {
            ...errorResponse(
              'The job is queued or running (with a wait: still so when the wait ran out); retry after ' +
                '`Retry-After` seconds. Or (`INVALID_REQUEST`) `wait` is not a whole number of seconds.',
              { error: MESSAGES.stillProcessing },
            ),
            headers: { ...RetryAfterHeader, ...PreferenceAppliedHeader },
          },
          404: errorResponse(
            access
              ? 'No job with this id for this API key: never issued, created with another key, or expired ' +
                  '`RESULT_TTL_SECONDS` after it finished.'
              : 'No job with this id: never issued, or expired `RESULT_TTL_SECONDS` after it finished.',
            { error: MESSAGES.notFound },
          ),
          408: requestTimeout,
          431: headersTooLarge,
          500: {
            ...PredictionFailedSchema,
            description: 'The job failed for good; `reason` says why. The headers name the model that failed it.',
            headers: ModelHeaders,
          },
          409: {
            ...PredictionCanceledSchema,
            description: 'The job was canceled (`POST /predict/{id}/cancel`) before it finished.',
            examples: [
              { error: MESSAGES.canceled, prediction_id: '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11', status: 'canceled' },
            ],
          },
          503: RedisUnavailableResponse,
          ...get.responses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.prediction_id;
      const ownerId = request.apiKeyId ?? undefined;
      const fromQuery = request.query.wait;
      const asked = fromQuery === undefined ? parsePrefer(request.headers.prefer).wait : Number(fromQuery);
      let lookup: PredictionLookup;
      if (asked === undefined) lookup = await predictions.lookup(id, ownerId);
      else {
        const seconds = Math.min(asked, waiting.maxWaitSeconds);
        const awaited = await awaitJob({
          notifier: waiting.notifier,
          // Ids are announced as issued (lower case); the lookup reads any case.
          jobId: id.toLowerCase(),
          seconds,
          read: () => predictions.lookup(id, ownerId),
          isFinal: isFinished,
          response: reply.raw,
        });
        lookup = awaited.answer;
        // A query parameter is no preference: only a honoured `Prefer: wait` is named.
        if (awaited.waited && fromQuery === undefined) void reply.header('Preference-Applied', `wait=${seconds}`);
      }
      switch (lookup.kind) {
        case 'succeeded':
          if (lookup.model) void reply.headers(modelHeadersOf(lookup.model));
          return reply.send({ prediction_id: id, output: lookup.output });
        case 'pending':
          return reply
            .code(400)
            .header('Retry-After', String(POLL_RETRY_AFTER_SECONDS))
            .send({ error: MESSAGES.stillProcessing });
        case 'not-found':
          return reply.code(404).send({ error: MESSAGES.notFound });
        case 'failed':
          if (lookup.model) void reply.headers(modelHeadersOf(lookup.model));
          return reply
            .code(500)
            .send({ error: MESSAGES.failed, prediction_id: id, status: 'failed', reason: lookup.reason });
        case 'canceled':
          return reply.code(409).send({ error: MESSAGES.canceled, prediction_id: id, status: 'canceled' });
      }
    },
  );
};
