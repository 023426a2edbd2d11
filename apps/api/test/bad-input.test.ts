import { describe, expect, it } from 'vitest';
import { TEST_CONFIG, useTestApp } from './build-test-app.js';

const ctx = useTestApp();

/** A POST /predict sent as given: any body or none, any content type or none. */
function postRaw(body: string | undefined, headers: Record<string, string>, asyncMode = false) {
  return ctx.client.send({
    method: 'POST',
    url: '/predict',
    headers: asyncMode ? { ...headers, 'async-mode': 'true' } : headers,
    ...(body !== undefined && { body }),
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

// [what, body, expected error sentence, code]
const BAD_BODIES: [string, string | undefined, string, string][] = [
  ['malformed JSON', '{"input": "x"', 'Request body is not valid JSON.', 'INVALID_JSON'],
  ['a JSON fragment', 'input=x', 'Request body is not valid JSON.', 'INVALID_JSON'],
  ['an empty body', '', 'Request body is empty; send a JSON object such as {"input": "text"}.', 'EMPTY_BODY'],
  ['no body at all', undefined, 'Request body is empty; send a JSON object such as {"input": "text"}.', 'EMPTY_BODY'],
  ['an empty object', '{}', "Invalid request: body must have the property 'input'.", 'INVALID_REQUEST'],
  [
    'a missing input',
    '{"text": "x"}',
    "Invalid request: body must have the property 'input'; body has unknown property 'text'.",
    'INVALID_REQUEST',
  ],
  ['an empty input', '{"input": ""}', 'Invalid request: body/input must not be empty.', 'INVALID_REQUEST'],
  ['a numeric input', '{"input": 42}', 'Invalid request: body/input must be string.', 'INVALID_REQUEST'],
  ['a null input', '{"input": null}', 'Invalid request: body/input must be string.', 'INVALID_REQUEST'],
  ['a boolean input', '{"input": true}', 'Invalid request: body/input must be string.', 'INVALID_REQUEST'],
  ['an array input', '{"input": ["x"]}', 'Invalid request: body/input must be string.', 'INVALID_REQUEST'],
  ['an object input', '{"input": {"text": "x"}}', 'Invalid request: body/input must be string.', 'INVALID_REQUEST'],
  [
    'an unknown property',
    '{"input": "x", "extra": 1}',
    "Invalid request: body has unknown property 'extra'.",
    'INVALID_REQUEST',
  ],
  ['an array body', '["x"]', 'Invalid request: body must be object.', 'INVALID_REQUEST'],
  ['a string body', '"x"', 'Invalid request: body must be object.', 'INVALID_REQUEST'],
  ['a null body', 'null', 'Invalid request: body must be object.', 'INVALID_REQUEST'],
  ['a number body', '12', 'Invalid request: body must be object.', 'INVALID_REQUEST'],
];

describe.each([false, true])('bad input (async mode: %s) gets a 4xx JSON error and writes nothing', (asyncMode) => {
  it.each(BAD_BODIES)('%s → 400', async (_, body, error, code) => {
    const response = await postRaw(body, JSON_HEADERS, asyncMode);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toEqual({ error, code });
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it.each([
    ['__proto__', '{"input": "x", "__proto__": {"polluted": true}}'],
    ['constructor.prototype', '{"input": "x", "constructor": {"prototype": {"polluted": true}}}'],
  ])('a %s poisoning attempt → 400', async (_, body) => {
    const response = await postRaw(body, JSON_HEADERS, asyncMode);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'Request body is not valid JSON.', code: 'INVALID_JSON' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('a body over BODY_LIMIT_BYTES → 413', async () => {
    const body = JSON.stringify({ input: 'x'.repeat(TEST_CONFIG.BODY_LIMIT_BYTES) });
    const response = await postRaw(body, JSON_HEADERS, asyncMode);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({ error: 'Request body is too large.', code: 'BODY_TOO_LARGE' });
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('a body just under the limit is accepted', async () => {
    const input = 'y'.repeat(TEST_CONFIG.BODY_LIMIT_BYTES - '{"input":""}'.length);
    const response = await postRaw(JSON.stringify({ input }), JSON_HEADERS, asyncMode);
    expect(response.status).toBe(asyncMode ? 202 : 200);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'application/jsonx',
  ])('content type %s → 415', async (contentType) => {
    const response = await postRaw('{"input": "x"}', { 'content-type': contentType }, asyncMode);
    expect(response.status).toBe(415);
    expect(JSON.parse(response.body)).toEqual({
      error: 'Unsupported content type; send application/json.',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('a body with no content type → 415', async () => {
    const response = await postRaw('{"input": "x"}', {}, asyncMode);
    expect(response.status).toBe(415);
    expect(JSON.parse(response.body)).toEqual({
      error: 'Unsupported content type; send application/json.',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON'])('content type %s is accepted', async (type) => {
    const response = await postRaw('{"input": "x"}', { 'content-type': type }, asyncMode);
    expect(response.status).toBe(asyncMode ? 202 : 200);
  });
});

describe('other bad requests', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/health/%zz'],
    ['DELETE', '/predict'],
    ['PUT', '/predict/abc'],
  ] as const)('%s %s → 404 JSON', async (method, url) => {
    // DELETE and PUT: methods the predict client does not send.
    const response = await ctx.app.inject({ method, url });
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('{"error":"Route not found.","code":"ROUTE_NOT_FOUND"}');
  });

  it('a GET /predict/{id} with a body is still answered', async () => {
    const response = await ctx.client.send({ method: 'GET', url: '/predict/abc', headers: JSON_HEADERS, body: '{' });
    expect(response.status).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');
  });
});
