import { serveDefinition, type ModelDefinition } from '@foretell/shared';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

// A model that declares TypeBox schemas takes and answers JSON: `input` is
// validated against its inputSchema, results are checked against its
// outputSchema, both are stored as JSON text and returned as JSON, and the
// OpenAPI document shows them.

const ctx = useTestApp();

const SENTIMENT: ModelDefinition = {
  name: 'tiny-sentiment',
  version: '1',
  inputSchema: Type.Object(
    { text: Type.String({ minLength: 1, maxLength: 100, examples: ['a good day'] }) },
    { additionalProperties: false },
  ),
  outputSchema: Type.Object(
    { label: Type.Union([Type.Literal('positive'), Type.Literal('negative')]), score: Type.Number() },
    { additionalProperties: false },
  ),
  async predict(input) {
    const { text } = input as { text: string };
    if (text === 'off-schema') return { label: 'maybe', score: 1 };
    return text.includes('good') ? { label: 'positive', score: 0.9 } : { label: 'negative', score: 0.2 };
  },
};

const serve = (definition: ModelDefinition) => serveDefinition(definition, { maxBatchSize: 1, maxBatchDelayMs: 0 });

describe('a model with input and output schemas', () => {
  it('answers a sync request with its JSON input and result', async () => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    const answer = await ctx.client.post({ input: { text: 'a good day' } });
    expect([answer.status, answer.body]).toEqual([
      200,
      '{"input":{"text":"a good day"},"result":{"label":"positive","score":0.9}}',
    ]);
  });

  it.each([
    ['a string instead of the object', 'just text'],
    ['an empty text', { text: '' }],
    ['a text over its maxLength', { text: 'x'.repeat(101) }],
    ['an unknown property', { text: 'fine', extra: 1 }],
    ['no text', {}],
    ['a number', 42],
    ['null', null],
  ])('refuses %s with 400 INVALID_REQUEST, queueing nothing', async (_, input) => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    for (const headers of [{}, { 'Async-Mode': 'true' }] as Record<string, string>[]) {
      const answer = await ctx.client.post({ input }, headers);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'INVALID_REQUEST' });
      expect((JSON.parse(answer.body) as { error: string }).error).toMatch(/^Invalid request: body\/input/);
    }
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('names the first problem of a refused input, as the README shows', async () => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    const answer = await ctx.client.post({ input: { text: '' } });
    expect(answer.body).toBe(
      '{"error":"Invalid request: body/input/text must not be empty.","code":"INVALID_REQUEST"}',
    );
  });

  it('stores an async input as JSON text, and returns the finished job as JSON', async () => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    const id = await ctx.client.submit({ text: 'queued' } as unknown as string);
    expect(await ctx.t.redis.hget(ctx.t.keys.job(id), 'input')).toBe('{"text":"queued"}');
    // As the consumer stores it (its model answers JSON text: model-codec.ts).
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', 'succeeded', 'result', '{"label":"negative","score":0.2}');
    const found = await ctx.client.get(id);
    expect([found.status, found.body]).toEqual([
      200,
      `{"prediction_id":"${id}","output":{"input":{"text":"queued"},"result":{"label":"negative","score":0.2}}}`,
    ]);
  });

  it('fails a result that does not match the outputSchema: 500 MODEL_FAILED', async () => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    const answer = await ctx.client.post({ input: { text: 'off-schema' } });
    expect([answer.status, answer.body]).toEqual([
      500,
      '{"error":"The model failed to make a prediction.","code":"MODEL_FAILED"}',
    ]);
  });

  it("shows the model's schemas, with their examples, in the OpenAPI document", async () => {
    await ctx.rebuild({ model: serve(SENTIMENT) });
    const document = (await ctx.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    }>();
    const post = document.paths['/predict']?.post;
    expect(post?.requestBody).toMatchObject({
      content: {
        'application/json': {
          schema: { properties: { input: { properties: { text: { type: 'string', example: 'a good day' } } } } },
        },
      },
    });
    expect(post?.responses['200']).toMatchObject({
      content: {
        'application/json': {
          schema: {
            properties: { result: { properties: { score: { type: 'number' } }, required: ['label', 'score'] } },
          },
        },
      },
    });
    const get = document.paths['/predict/{prediction_id}']?.get;
    expect(get?.responses['200']).toMatchObject({
      content: {
        'application/json': {
          schema: { properties: { output: { properties: { input: { properties: { text: { type: 'string' } } } } } } },
        },
      },
    });
  });
});
