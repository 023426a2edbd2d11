import { FORETELL_VERSION, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { ACCEPTED_MESSAGE, UUID_V4 } from '../../../test/support/predict-client.js';
import { TEST_CONFIG, useTestApp } from './build-test-app.js';
import { heldModel } from '../../../test/support/held-model.js';

const JSON_TYPE = 'application/json; charset=utf-8';

const ctx = useTestApp();

describe('POST /predict, sync', () => {
  it('answers 200 with the input and a digit result in 1000–20000', async () => {
    const response = await ctx.client.post({ input: 'Sample input data for the model' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(JSON_TYPE);
    const result = mockResult('Sample input data for the model');
    expect(response.body).toBe(`{"input":"Sample input data for the model","result":"${result}"}`);
    expect(Number(result)).toBeGreaterThanOrEqual(1000);
    expect(Number(result)).toBeLessThanOrEqual(20000);
  });

  it.each(['false', 'yes', '1', '', 'true-ish'])('runs sync when Async-Mode is %j', async (value) => {
    const response = await ctx.client.post({ input: 'x' }, { 'async-mode': value });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ input: 'x', result: mockResult('x') });
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('keeps unicode and JSON-special characters intact', async () => {
    const input = 'émoji 🚀 "quoted" \\ back\nline';
    const response = await ctx.client.post({ input });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ input, result: mockResult(input) });
  });

  it('answers 504 with an error body when the model outlasts SYNC_TIMEOUT_MS, and aborts the model call', async () => {
    const model = heldModel();
    await ctx.rebuild({ model, config: { SYNC_TIMEOUT_MS: 50 } });
    const response = await ctx.client.post({ input: 'slow' });
    expect(response.status).toBe(504);
    expect(response.body).toBe('{"error":"The model did not answer in time.","code":"PREDICTION_TIMEOUT"}');
    const call = await model.called;
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toEqual(new Error('no answer within 50 ms'));
  });

  it('answers 500 with an error body, without internals, when the model throws', async () => {
    await ctx.rebuild({
      model: { predict: () => Promise.reject(new Error('secret stack detail')) },
    });
    const response = await ctx.client.post({ input: 'x' });
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      error: 'The model failed to make a prediction.',
      code: 'MODEL_FAILED',
    });
  });

  it.each([
    ['a number', 42],
    ['an object', { result: '1234' }],
    ['nothing', undefined],
  ])('answers 500 MODEL_FAILED when a (JavaScript) model resolves with %s instead of a string', async (_, value) => {
    await ctx.rebuild({ model: { predict: async () => value as unknown as string } });
    const response = await ctx.client.post({ input: 'x' });
    expect(response.status).toBe(500);
    expect(response.body).toBe('{"error":"The model failed to make a prediction.","code":"MODEL_FAILED"}');
  });

  it('serves other requests while a sync prediction waits on the model', async () => {
    const model = heldModel();
    await ctx.rebuild({ model });
    let slowSettled = false;
    const slow = ctx.client.post({ input: 'slow' }).finally(() => {
      slowSettled = true;
    });
    await model.called;
    const health = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.body).toBe(`{"status":"ok","version":"${FORETELL_VERSION}"}`);
    expect(slowSettled).toBe(false);
    model.releaseAll();
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(answered.body).toBe(JSON.stringify({ input: 'slow', result: mockResult('slow') }));
  });
});

describe('POST /predict, Async-Mode: true', () => {
  it.each(['true', 'TRUE', 'True', '  true  ', '\ttrue'])('answers 202 for Async-Mode %j', async (value) => {
    const response = await ctx.client.post({ input: 'queued' }, { 'async-mode': value });
    expect(response.status).toBe(202);
    const body = JSON.parse(response.body) as { message: string; prediction_id: string };
    expect(Object.keys(body)).toEqual(['message', 'prediction_id']);
    expect(body.message).toBe(ACCEPTED_MESSAGE);
    expect(body.prediction_id).toMatch(UUID_V4);
    expect(response.headers.location).toBe(`/predict/${body.prediction_id}`);
  });

  it('has stored the job hash with a TTL and the stream entry before answering', async () => {
    const before = Date.now();
    const id = await ctx.client.submit('durable');
    const hash = await ctx.t.redis.hgetall(ctx.t.keys.job(id));
    expect(hash).toEqual({
      status: 'queued',
      input: 'durable',
      attempts: '0',
      created: expect.any(String) as string,
      // The request that queued it (X-Request-Id, made by the API here): see request-id.test.ts.
      request_id: expect.stringMatching(UUID_V4) as string,
    });
    expect(Number(hash.created)).toBeGreaterThanOrEqual(before);
    const ttl = await ctx.t.redis.ttl(ctx.t.keys.job(id));
    // RESULT_TTL_SECONDS, less the seconds since it was set (a wide margin: a busy machine is no failure).
    expect(ttl).toBeGreaterThan(TEST_CONFIG.RESULT_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(TEST_CONFIG.RESULT_TTL_SECONDS);
    const entries = await ctx.t.redis.xrange(ctx.t.keys.jobs, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.[1]).toEqual(['id', id, 'input', 'durable', 'rid', hash.request_id]);
  });

  it('issues a distinct id per request, even for the same input', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => ctx.client.submit('same')));
    expect(new Set(ids).size).toBe(20);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(20);
  });
});

describe('GET /predict/{id}', () => {
  it('answers 400 "still being processed" with Retry-After while queued', async () => {
    const id = await ctx.client.submit('waiting');
    const response = await ctx.client.get(id);
    expect(response.status).toBe(400);
    expect(response.body).toBe('{"error":"Prediction is still being processed."}');
    expect(response.headers['retry-after']).toBe('1');
  });

  it('answers 400 while a consumer runs the job', async () => {
    const id = await ctx.client.submit('running');
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', 'processing', 'started', String(Date.now()), 'attempts', '1');
    const response = await ctx.client.get(id);
    expect(response.status).toBe(400);
    expect(response.body).toBe('{"error":"Prediction is still being processed."}');
  });

  it('answers 200 with the output once the job succeeded', async () => {
    const id = await ctx.client.submit('done');
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', 'succeeded', 'result', '4242', 'finished', String(Date.now()));
    const response = await ctx.client.get(id);
    expect(response.status).toBe(200);
    expect(response.body).toBe(`{"prediction_id":"${id}","output":{"input":"done","result":"4242"}}`);
  });

  it('answers 500 with the reason once the job failed for good', async () => {
    const id = await ctx.client.submit('doomed');
    await ctx.t.redis.hset(
      ctx.t.keys.job(id),
      'status',
      'failed',
      'reason',
      'model exploded',
      'finished',
      String(Date.now()),
    );
    const response = await ctx.client.get(id);
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
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
    const response = await ctx.client.get(id);
    expect(response.status).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');
  });

  it('answers 404 once the job hash has expired', async () => {
    const id = await ctx.client.submit('short-lived');
    await ctx.t.redis.del(ctx.t.keys.job(id));
    const response = await ctx.client.get(id);
    expect(response.status).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');
  });
});
