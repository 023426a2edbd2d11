import { decodeJobRecord, FORETELL_VERSION, MOCK_MODEL, mockResult, modelLabel, modelRef } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { acceptedId, injectClient, type PredictResponse } from '../../../test/support/predict-client.js';
import { apiKeyId } from '../src/auth/api-keys.js';
import { bearer, clientWith, KEY_A, KEY_B, NOT_A_KEY, useKeyedApps } from './keyed-app.js';

const keyed = useKeyedApps();

const MISSING_KEY = '{"error":"This route needs an API key: send Authorization: Bearer <key>.","code":"UNAUTHORIZED"}';
const INVALID_KEY = '{"error":"The API key is not valid.","code":"INVALID_API_KEY"}';
const NOT_FOUND = '{"error":"Prediction ID not found."}';
const STILL_PROCESSING = '{"error":"Prediction is still being processed."}';
const UNKNOWN_ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';

/** The parts of an answer a client sees and compares, without the headers that differ per request (Date). */
function seen(response: PredictResponse) {
  return {
    status: response.status,
    body: response.body,
    type: response.headers['content-type'],
    length: response.headers['content-length'],
    retryAfter: response.headers['retry-after'],
    challenge: response.headers['www-authenticate'],
    model: response.headers['foretell-model-name'],
  };
}

/** Every key and value under this test's prefix, as one text, to show a secret is in none of them. */
async function everythingStored(): Promise<string> {
  const { redis, prefix } = keyed.t;
  const parts: string[] = [];
  for (const key of await redis.keys(`${prefix}:*`)) {
    const type = await redis.type(key);
    parts.push(key);
    if (type === 'string') parts.push((await redis.get(key)) ?? '');
    if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
    if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')));
  }
  return parts.join('\n');
}

describe('with API_KEYS unset', () => {
  it('serves /predict as the seed contract does, whatever Authorization says', async () => {
    const app = await keyed.build({ apiKeys: [] });
    for (const headers of [{}, bearer(NOT_A_KEY), { authorization: 'Basic Zm9vOmJhcg==' }]) {
      const client = clientWith(app, headers);
      const now = await client.post({ input: 'open' });
      expect(now.status).toBe(200);
      expect(now.body).toBe(JSON.stringify({ input: 'open', result: mockResult('open') }));
      const id = await client.submit('open');
      expect(seen(await client.get(id))).toMatchObject({ status: 400, body: STILL_PROCESSING });
      expect(decodeJobRecord(await keyed.t.redis.hgetall(keyed.t.keys.job(id)))?.owner).toBeUndefined();
    }
  });

  it('documents no security scheme', async () => {
    const app = await keyed.build({ apiKeys: [] });
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<Record<string, unknown>>();
    expect(doc).not.toHaveProperty('components.securitySchemes');
    // The root's empty requirement says it in OpenAPI's words: every operation is open.
    expect(doc['security']).toEqual([]);
    expect(JSON.stringify(doc['paths'])).not.toMatch(/"security"|"401"|"429"/);
  });
});

describe('with API keys', () => {
  it('answers 401 without a key on every /predict route, before reading the body, and writes nothing', async () => {
    const app = await keyed.build();
    const client = injectClient(app);
    const answers = [
      await client.post({ input: 'x' }),
      await client.post({ input: 'x' }, { 'async-mode': 'true', 'idempotency-key': 'order-1' }),
      await client.get(UNKNOWN_ID),
      await client.get('abc123'),
      // What the body would have been refused for (type, JSON, size) is not looked at.
      await client.post('{"input": "x"}', { 'content-type': 'text/plain' }),
      await client.post('{not json'),
      await client.post({ input: 'x'.repeat(5000) }),
    ];
    for (const answer of answers) {
      expect(seen(answer)).toEqual({
        status: 401,
        body: MISSING_KEY,
        type: 'application/json; charset=utf-8',
        length: String(Buffer.byteLength(MISSING_KEY)),
        retryAfter: undefined,
        challenge: 'Bearer realm="foretell"',
      });
    }
    expect(await keyed.t.redis.keys(`${keyed.t.prefix}:*`)).toEqual([]);
  });

  it.each([
    ['a key that is not configured', `Bearer ${NOT_A_KEY}`],
    ['a configured key cut short', `Bearer ${KEY_A.slice(0, -1)}`],
    ['a configured key with a character more', `Bearer ${KEY_A}x`],
    ['a configured key in other case', `Bearer ${KEY_A.toLowerCase()}`],
    ['two keys', `Bearer ${KEY_A} ${KEY_B}`],
    ['the scheme alone', 'Bearer'],
    ['a token of 8 KiB', `Bearer ${'k'.repeat(8 * 1024)}`],
    ['non-ASCII bytes', `Bearer ${'\u00e9'.repeat(40)}`],
    ['a quoted key', `Bearer "${KEY_A}"`],
  ])('answers 401 invalid_token for %s', async (_, authorization) => {
    const app = await keyed.build();
    const client = clientWith(app, { authorization });
    for (const answer of [await client.post({ input: 'x' }, { 'async-mode': 'true' }), await client.get(UNKNOWN_ID)]) {
      expect(seen(answer)).toMatchObject({
        status: 401,
        body: INVALID_KEY,
        challenge: 'Bearer realm="foretell", error="invalid_token"',
      });
    }
    expect(await keyed.t.redis.keys(`${keyed.t.prefix}:*`)).toEqual([]);
  });

  it('answers a URL the router cannot route with the same 404 for everyone, key or not: it names no job', async () => {
    const app = await keyed.build();
    for (const url of ['/predict/%zz', `/predict/${'x'.repeat(17 * 1024)}`]) {
      for (const headers of [{}, bearer(KEY_A)]) {
        const answer = await clientWith(app, headers).send({ method: 'GET', url });
        expect(seen(answer), url.slice(0, 20)).toMatchObject({ status: 404, body: NOT_FOUND, challenge: undefined });
      }
    }
  });

  it('treats another scheme as no key (RFC 6750: no error code in the challenge)', async () => {
    const app = await keyed.build();
    const answer = await clientWith(app, { authorization: `Basic ${KEY_A}` }).post({ input: 'x' });
    expect(seen(answer)).toMatchObject({ status: 401, body: MISSING_KEY, challenge: 'Bearer realm="foretell"' });
  });

  it('keeps /health, /ready, /docs and unknown routes open', async () => {
    const app = await keyed.build();
    await keyed.t.redis.xgroup('CREATE', keyed.t.keys.jobs, keyed.t.keys.group, '0', 'MKSTREAM');
    const client = injectClient(app);
    expect((await client.send({ method: 'GET', url: '/health' })).body).toBe(
      `{"status":"ok","version":"${FORETELL_VERSION}"}`,
    );
    expect((await client.send({ method: 'GET', url: '/ready' })).body).toBe('{"status":"ready"}');
    expect((await client.send({ method: 'GET', url: '/docs/json' })).status).toBe(200);
    const unknown = await client.send({ method: 'GET', url: '/nowhere' });
    expect(seen(unknown)).toMatchObject({ status: 404, body: '{"error":"Route not found.","code":"ROUTE_NOT_FOUND"}' });
  });

  it('serves a configured key, in any case of "Bearer", and stores its id as the owner, never the key', async () => {
    const app = await keyed.build();
    const client = clientWith(app, { authorization: `bearer  ${KEY_A}` });
    const now = await client.post({ input: 'hello' });
    expect(seen(now)).toMatchObject({ status: 200, challenge: undefined });
    expect(now.body).toBe(JSON.stringify({ input: 'hello', result: mockResult('hello') }));

    const id = await client.submit('hello');
    expect(seen(await client.get(id))).toMatchObject({ status: 400, body: STILL_PROCESSING, retryAfter: '1' });
    expect(decodeJobRecord(await keyed.t.redis.hgetall(keyed.t.keys.job(id)))).toMatchObject({
      status: 'queued',
      owner: apiKeyId(KEY_A),
    });
    const stored = await everythingStored();
    expect(stored).toContain(apiKeyId(KEY_A));
    expect(stored).not.toContain(KEY_A);
  });

  it("answers another key's GET of a job exactly as an unknown id, whatever the job's state", async () => {
    const app = await keyed.build();
    const [a, b] = [clientWith(app, bearer(KEY_A)), clientWith(app, bearer(KEY_B))];
    const unknown = seen(await b.get(UNKNOWN_ID));
    expect(unknown).toMatchObject({ status: 404, body: NOT_FOUND });

    const queued = await a.submit('mine');
    const succeeded = await a.submit('mine, done');
    const failed = await a.submit('mine, failed');
    // As the consumer leaves finished jobs (the fields finish-jobs writes): the model too, which b must not see.
    const { redis, keys } = keyed.t;
    const model = modelRef(MOCK_MODEL);
    await redis.hset(keys.models, model, modelLabel(MOCK_MODEL));
    await redis.hset(keys.job(succeeded), {
      status: 'succeeded',
      result: mockResult('mine, done'),
      finished: 1,
      model,
    });
    await redis.hset(keys.job(failed), { status: 'failed', reason: 'the model failed', finished: 1, model });

    for (const id of [queued, succeeded, failed, queued.toUpperCase()]) {
      expect(seen(await b.get(id)), id).toEqual(unknown);
    }
    expect(seen(await a.get(queued)).status).toBe(400);
    expect(seen(await a.get(succeeded))).toMatchObject({
      status: 200,
      model: 'mock',
      body: JSON.stringify({
        prediction_id: succeeded,
        output: { input: 'mine, done', result: mockResult('mine, done') },
      }),
    });
    expect(seen(await a.get(failed))).toMatchObject({ status: 500, model: 'mock' });
  });

  it('scopes Idempotency-Key per API key: the same key name never crosses, so it cannot be squatted', async () => {
    const app = await keyed.build();
    const [a, b] = [clientWith(app, bearer(KEY_A)), clientWith(app, bearer(KEY_B))];
    // B takes A's key name first, with a body of its own.
    const squatted = await b.submit('squatter', { 'idempotency-key': 'order-1234' });

    const first = await a.post({ input: 'real order' }, { 'async-mode': 'true', 'idempotency-key': 'order-1234' });
    const mine = acceptedId(first);
    expect(mine).not.toBe(squatted);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await a.post({ input: 'real order' }, { 'async-mode': 'true', 'idempotency-key': 'order-1234' });
    expect(acceptedId(again)).toBe(mine);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // B's own repeat still finds its own job; with A's body it is B's conflict, not A's job.
    expect(await b.submit('squatter', { 'idempotency-key': 'order-1234' })).toBe(squatted);
    const crossed = await b.post({ input: 'real order' }, { 'async-mode': 'true', 'idempotency-key': 'order-1234' });
    expect(seen(crossed)).toMatchObject({ status: 422 });

    const { redis, keys } = keyed.t;
    expect(await redis.xlen(keys.jobs)).toBe(2);
    expect(await redis.exists(keys.idempotency('order-1234', apiKeyId(KEY_A)))).toBe(1);
    expect(await redis.exists(keys.idempotency('order-1234', apiKeyId(KEY_B)))).toBe(1);
    expect(await redis.exists(keys.idempotency('order-1234'))).toBe(0);
  });

  it('documents the bearer scheme on the /predict routes only, with their 401', async () => {
    const app = await keyed.build();
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApiDocument>();
    expect(doc.components?.securitySchemes).toEqual({
      apiKey: { type: 'http', scheme: 'bearer', description: expect.any(String) as string },
    });
    for (const [path, method] of [
      ['/predict', 'post'],
      ['/predict/{prediction_id}', 'get'],
    ] as const) {
      const operation = doc.paths[path]?.[method];
      expect(operation?.security, `${method} ${path}`).toEqual([{ apiKey: [] }]);
      expect(Object.keys(operation?.responses ?? {}), `${method} ${path}`).toContain('401');
      expect(operation?.responses['401']?.headers).toHaveProperty('WWW-Authenticate');
      // No per-key limit is set: no 429.
      expect(Object.keys(operation?.responses ?? {}), `${method} ${path}`).not.toContain('429');
    }
    expect(doc.paths['/health']?.get?.security).toBeUndefined();
    expect(doc.paths['/ready']?.get?.security).toBeUndefined();
  });

  it('documents 429 where a per-key limit applies: the rate on both routes, the jobs cap on POST', async () => {
    const docOf = async (app: FastifyInstance) =>
      (await app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApiDocument>();
    const rate = await docOf(await keyed.build({ config: { RATE_LIMIT_PER_MINUTE: 10 } }));
    expect(rate.paths['/predict']?.post?.responses['429']?.description).toMatch(/RATE_LIMITED[^]*Retry-After/);
    expect(rate.paths['/predict/{prediction_id}']?.get?.responses['429']?.description).toMatch(/RATE_LIMITED/);
    const jobs = await docOf(await keyed.build({ config: { MAX_JOBS_PER_KEY: 5 } }));
    expect(jobs.paths['/predict']?.post?.responses['429']?.description).toMatch(/TOO_MANY_JOBS/);
    expect(jobs.paths['/predict']?.post?.responses['429']?.description).not.toMatch(/RATE_LIMITED/);
    expect(jobs.paths['/predict/{prediction_id}']?.get?.responses['429']).toBeUndefined();
  });

  it('with DOCS_PUBLIC=false, asks for a key on /docs and /docs/json too, and still not on the probes', async () => {
    const app = await keyed.build({ config: { DOCS_PUBLIC: 'false' } });
    const open = injectClient(app);
    for (const url of ['/docs', '/docs/json', '/docs/yaml', '/docs/static/index.html']) {
      expect(seen(await open.send({ method: 'GET', url })), url).toMatchObject({ status: 401, body: MISSING_KEY });
    }
    expect(seen(await clientWith(app, bearer(NOT_A_KEY)).send({ method: 'GET', url: '/docs/json' }))).toMatchObject({
      status: 401,
      body: INVALID_KEY,
    });
    const withKey = clientWith(app, bearer(KEY_B));
    const doc = await withKey.send({ method: 'GET', url: '/docs/json' });
    expect(doc.status).toBe(200);
    expect(JSON.parse(doc.body)).toHaveProperty('components.securitySchemes.apiKey');
    expect((await withKey.send({ method: 'GET', url: '/docs' })).status).toBe(200);
    expect((await open.send({ method: 'GET', url: '/health' })).status).toBe(200);
  });
});

interface OpenApiOperation {
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string; headers?: Record<string, object> }>;
}
interface OpenApiDocument {
  components?: { securitySchemes?: Record<string, object> };
  paths: Record<string, Record<string, OpenApiOperation>>;
}
