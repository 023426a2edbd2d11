import { createMockModel, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { TEST_CONFIG, useTestApp } from './build-test-app.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

const ctx = useTestApp();

function post(body: unknown, headers: Record<string, string> = {}) {
  return ctx.app.inject({
    method: 'POST',
    url: '/predict',
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function submit(input: string): Promise<string> {
  const response = await post({ input }, { 'async-mode': 'true' });
  expect(response.statusCode).toBe(202);
  return response.json<{ prediction_id: string }>().prediction_id;
}

describe('POST /predict, sync', () => {
  it('answers 200 with the input and a digit result in 1000–20000', async () => {
    const response = await post({ input: 'Sample input data for the model' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(JSON_TYPE);
    const result = mockResult('Sample input data for the model');
    expect(response.body).toBe(`{"input":"Sample input data for the model","result":"${result}"}`);
    expect(Number(result)).toBeGreaterThanOrEqual(1000);
    expect(Number(result)).toBeLessThanOrEqual(20000);
  });

  it.each(['false', 'yes', '1', '', 'true-ish'])('runs sync when Async-Mode is %j', async (value) => {
    const response = await post({ input: 'x' }, { 'async-mode': value });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ input: 'x', result: mockResult('x') });
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('keeps unicode and JSON-special characters intact', async () => {
    const input = 'émoji 🚀 "quoted" \\ back\nline';
    const response = await post({ input });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ input, result: mockResult(input) });
  });

  it('answers 504 with an error body when the model outlasts SYNC_TIMEOUT_MS', async () => {
    await ctx.rebuild({
      model: createMockModel({ minLatencyMs: 5000, maxLatencyMs: 5000 }),
      config: { SYNC_TIMEOUT_MS: 50 },
    });
    const response = await post({ input: 'slow' });
    expect(response.statusCode).toBe(504);
    expect(response.json()).toEqual({ error: 'The model did not answer in time.', code: 'PREDICTION_TIMEOUT' });
  });

  it('answers 500 with an error body, without internals, when the model throws', async () => {
    await ctx.rebuild({
      model: { predict: () => Promise.reject(new Error('secret stack detail')) },
    });
    const response = await post({ input: 'x' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'The model failed to make a prediction.', code: 'MODEL_FAILED' });
  });

  it('serves other requests while a sync prediction waits on the model', async () => {
    await ctx.rebuild({ model: createMockModel({ minLatencyMs: 1000, maxLatencyMs: 1000 }) });
    let slowSettled = false;
    const slow = post({ input: 'slow' }).finally(() => {
      slowSettled = true;
    });
    const health = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(slowSettled).toBe(false);
    expect((await slow).statusCode).toBe(200);
  });
});

describe('POST /predict, Async-Mode: true', () => {
  it.each(['true', 'TRUE', 'True', '  true  ', '\ttrue'])('answers 202 for Async-Mode %j', async (value) => {
    const response = await post({ input: 'queued' }, { 'async-mode': value });
    expect(response.statusCode).toBe(202);
    const body = response.json<{ message: string; prediction_id: string }>();
    expect(Object.keys(body)).toEqual(['message', 'prediction_id']);
    expect(body.message).toBe('Request received. Processing asynchronously.');
    expect(body.prediction_id).toMatch(UUID_V4);
    expect(response.headers.location).toBe(`/predict/${body.prediction_id}`);
  });

  it('has stored the job hash with a TTL and the stream entry before answering', async () => {
    const before = Date.now();
    const id = await submit('durable');
    const hash = await ctx.t.redis.hgetall(ctx.t.keys.job(id));
    expect(hash).toEqual({ status: 'queued', input: 'durable', attempts: '0', created: expect.any(String) as string });
    expect(Number(hash.created)).toBeGreaterThanOrEqual(before);
    const ttl = await ctx.t.redis.ttl(ctx.t.keys.job(id));
    expect(ttl).toBeGreaterThan(TEST_CONFIG.RESULT_TTL_SECONDS - 5);
    expect(ttl).toBeLessThanOrEqual(TEST_CONFIG.RESULT_TTL_SECONDS);
    const entries = await ctx.t.redis.xrange(ctx.t.keys.jobs, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.[1]).toEqual(['id', id, 'input', 'durable']);
  });

  it('issues a distinct id per request, even for the same input', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => submit('same')));
    expect(new Set(ids).size).toBe(20);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(20);
  });
});

describe('GET /predict/{id}', () => {
  it('answers 400 "still being processed" with Retry-After while queued', async () => {
    const id = await submit('waiting');
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(400);
    expect(response.body).toBe('{"error":"Prediction is still being processed."}');
    expect(response.headers['retry-after']).toBe('1');
  });

  it('answers 400 while a consumer runs the job', async () => {
    const id = await submit('running');
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', 'processing', 'started', String(Date.now()), 'attempts', '1');
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(400);
    expect(response.body).toBe('{"error":"Prediction is still being processed."}');
  });

  it('answers 200 with the output once the job succeeded', async () => {
    const id = await submit('done');
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', 'succeeded', 'result', '4242', 'finished', String(Date.now()));
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(`{"prediction_id":"${id}","output":{"input":"done","result":"4242"}}`);
  });

  it('answers 500 with the reason once the job failed for good', async () => {
    const id = await submit('doomed');
    await ctx.t.redis.hset(
      ctx.t.keys.job(id),
      'status',
      'failed',
      'reason',
      'model exploded',
      'finished',
      String(Date.now()),
    );
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: 'Prediction failed.',
      prediction_id: id,
      status: 'failed',
      reason: 'model exploded',
    });
  });

  it.each([
    ['an unknown UUID', '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'],
    ['a non-UUID', 'abc123'],
    ['a key-like string', 'x:job:*'],
    ['percent-encoded junk', '%F0%9F%9A%80%20%00'],
    ['a malformed percent-encoding', '%zz'],
    ['a truncated UTF-8 percent-encoding', '%E0%A4'],
    ['a very long id', 'a'.repeat(2000)],
    ['an id longer than the router allows', 'a'.repeat(20_000)],
  ])('answers 404 "not found" for %s', async (_, id) => {
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');
  });

  it('answers 404 once the job hash has expired', async () => {
    const id = await submit('short-lived');
    await ctx.t.redis.del(ctx.t.keys.job(id));
    const response = await ctx.app.inject({ method: 'GET', url: `/predict/${id}` });
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');
  });
});
