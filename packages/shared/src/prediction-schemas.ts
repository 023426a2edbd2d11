import type { Static, TSchema } from 'typebox';
import { Type } from './typebox.js';
import type { ModelSchemas } from './model.js';
import { WEBHOOK_EVENTS } from './webhooks/webhook-delivery.js';
import { MAX_WEBHOOK_URL_LENGTH } from './webhooks/webhook-target.js';

/**
 * The wire contract of `/predict`, byte for byte the original assignment's
 * (see ARCHITECTURE.md §1). Clients compare these strings: never reword them.
 */
export const MESSAGES = Object.freeze({
  accepted: 'Request received. Processing asynchronously.',
  stillProcessing: 'Prediction is still being processed.',
  notFound: 'Prediction ID not found.',
  failed: 'Prediction failed.',
  canceled: 'Prediction was canceled.',
  alreadyFinished: 'Prediction has already finished; only a queued or running one can be canceled.',
});

export const PredictionIdSchema = Type.String({
  format: 'uuid',
  description: 'A UUID v4 issued by `POST /predict` in async mode.',
  examples: ['3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'],
});

/**
 * What an async request may add: a webhook, and the events it is sent for.
 * Bounded here (URL length, two events at most) so that a hostile body costs
 * little; the URL's rules and its addresses are checked by the API.
 */
export const WebhookRequestProperties = {
  webhook: Type.Optional(
    Type.String({
      maxLength: MAX_WEBHOOK_URL_LENGTH,
      description:
        'Async only: an `https://` (or `http://`) URL that foretell POSTs the job to, signed (Standard Webhooks), ' +
        'when it starts and/or ends (see `webhook_events_filter`). Its host must resolve to public addresses.',
    }),
  ),
  webhook_events_filter: Type.Optional(
    Type.Array(Type.Union(WEBHOOK_EVENTS.map((event) => Type.Literal(event))), {
      minItems: 1,
      maxItems: WEBHOOK_EVENTS.length,
      uniqueItems: true,
      description: 'With `webhook`: the events it is sent for, `start` and/or `completed` (default `["completed"]`).',
    }),
  ),
};

export const PredictRequestSchema = Type.Object(
  {
    input: Type.String({
      minLength: 1,
      description: 'The text the model predicts on.',
      examples: ['Sample input data for the model'],
    }),
    ...WebhookRequestProperties,
  },
  // The whole body's example: Swagger UI pre-fills "Try it out" with it, not
  // with one built from every property (a `webhook` of "string" is a 400).
  { additionalProperties: false, title: 'PredictRequest', examples: [{ input: 'Sample input data for the model' }] },
);
export type PredictRequest = Static<typeof PredictRequestSchema>;

/** The model's answer: also the `output` of a finished async job. */
export const PredictionOutputSchema = Type.Object(
  {
    input: Type.String(),
    result: Type.String({ description: 'The model result, a string of digits.', examples: ['17304'] }),
  },
  { additionalProperties: false, title: 'PredictionOutput' },
);
export type PredictionOutput = Static<typeof PredictionOutputSchema>;

export const AsyncAcceptedSchema = Type.Object(
  {
    message: Type.Literal(MESSAGES.accepted),
    prediction_id: PredictionIdSchema,
  },
  { additionalProperties: false, title: 'AsyncAccepted' },
);

export const PredictionFoundSchema = Type.Object(
  {
    prediction_id: PredictionIdSchema,
    output: PredictionOutputSchema,
  },
  { additionalProperties: false, title: 'PredictionFound' },
);

export const PredictionFailedSchema = Type.Object(
  {
    error: Type.Literal(MESSAGES.failed),
    prediction_id: PredictionIdSchema,
    status: Type.Literal('failed'),
    reason: Type.String({ description: 'Why the job failed for good.' }),
  },
  { additionalProperties: false, title: 'PredictionFailed' },
);

export const PredictionCanceledSchema = Type.Object(
  {
    error: Type.Literal(MESSAGES.canceled),
    prediction_id: PredictionIdSchema,
    status: Type.Literal('canceled'),
  },
  { additionalProperties: false, title: 'PredictionCanceled' },
);

/** The answer of POST /predict/{id}/cancel for a job it canceled. */
export const CancelAcceptedSchema = Type.Object(
  {
    prediction_id: PredictionIdSchema,
    status: Type.Literal('canceled'),
  },
  { additionalProperties: false, title: 'CancelAccepted' },
);

/** POST /predict/{id}/cancel for a job that already has its outcome: which one. */
export const CancelRefusedSchema = Type.Object(
  {
    error: Type.Union([Type.Literal(MESSAGES.canceled), Type.Literal(MESSAGES.alreadyFinished)]),
    prediction_id: PredictionIdSchema,
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled')]),
  },
  { additionalProperties: false, title: 'CancelRefused' },
);

/**
 * Every error body. `error` is a sentence ending in a period; `code` is a
 * stable machine-readable code (see the README's error table), present on all
 * errors but the assignment's own, whose bodies stay exactly as they were.
 */
export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, as a sentence.' }),
    code: Type.Optional(Type.String({ description: 'Stable error code.' })),
  },
  { additionalProperties: false, title: 'Error' },
);
export type ErrorBody = Static<typeof ErrorSchema>;

/**
 * An example value of a schema: the first of its `examples`, or for an object
 * one built from its properties' examples (as Swagger UI would build it);
 * undefined when it has none.
 */
function inputExample(schema: TSchema): unknown {
  const { examples, properties } = schema as { examples?: unknown; properties?: Record<string, TSchema> };
  if (Array.isArray(examples) && examples.length > 0) return (examples as unknown[])[0];
  if (properties === undefined) return undefined;
  const sample: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const value = inputExample(property);
    if (value !== undefined) sample[name] = value;
  }
  return Object.keys(sample).length > 0 ? sample : undefined;
}

/**
 * The request, answer and finished-job schemas for a model that declared its
 * own (`input` and `result` are then its JSON values): the OpenAPI document
 * and Swagger UI show them, and bodies are validated against them. Without
 * schemas, the contract's string ones above.
 */
export function predictionSchemasFor(schemas: ModelSchemas | undefined): {
  readonly request: TSchema;
  readonly output: TSchema;
  readonly found: TSchema;
} {
  if (schemas === undefined) {
    return { request: PredictRequestSchema, output: PredictionOutputSchema, found: PredictionFoundSchema };
  }
  const input = schemas.input as TSchema;
  const output = Type.Object(
    { input, result: schemas.output },
    { additionalProperties: false, title: 'PredictionOutput' },
  );
  return {
    request: Type.Object(
      { input, ...WebhookRequestProperties },
      {
        additionalProperties: false,
        title: 'PredictRequest',
        // As for the contract's body: "Try it out" sends the model's own example input, and nothing else.
        ...(inputExample(input) !== undefined && { examples: [{ input: inputExample(input) }] }),
      },
    ),
    output,
    found: Type.Object(
      { prediction_id: PredictionIdSchema, output },
      { additionalProperties: false, title: 'PredictionFound' },
    ),
  };
}
