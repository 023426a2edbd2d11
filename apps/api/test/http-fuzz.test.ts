import { decodeJobRecord } from '@foretell/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TEST_CONFIG, useTestApp } from './build-test-app.js';
import { clientWith, KEY_A, KEY_B, NOT_A_KEY, useKeyedApps } from './keyed-app.js';

const ctx = useTestApp();

// Enough runs to reach the odd corners, few enough that the file stays within a few seconds on two cores.
const FUZZ_RUNS = 400;
const VALID_INPUT_RUNS = 200;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;

/** `decodeURIComponent`, or the text as is when it is not a valid percent-encoding. */
function decodedOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Swagger UI's routes under /docs serve HTML and static files, outside the JSON contract; /docs/json is
 * in it. The path is checked as light-my-request will send it (`new URL` resolves `..` and encodes;
 * prefixing the origin keeps `//x` a path, as light-my-request does).
 */
function isOutsideSwaggerUi(url: string): boolean {
  const { pathname } = new URL(`http://localhost${url}`);
  return pathname === '/docs/json' || !/docs/i.test(decodedOrRaw(pathname));
}

/** What may follow `/predict/`: any text encoded, raw unicode and broken percent-encodings, very long, empty. */
const predictionIdSegment = fc.oneof(
  fc.string({ unit: 'binary' }).map(encodeURIComponent),
  fc.string({
    unit: fc.constantFrom('a', '7', '-', '%', '%2F', '%00', '%zz', '%E0%A4', 'é', '☃', '😀', '/', '?', '#', ' '),
  }),
  // Up to past maxParamLength (16 KiB): every id, however long, is a 404.
  fc.nat({ max: 20_000 }).map((length) => 'x'.repeat(length)),
  fc.constant(''),
);

const requestUrl = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('/predict', '/health', '/ready', '/docs/json', '/'),
      predictionIdSegment.map((segment) => `/predict/${segment}`),
      fc.webPath(),
    ),
    fc.option(fc.webQueryParameters(), { nil: undefined }),
  )
  // A request target always starts with `/` (fc.webPath may give ''; light-my-request cannot send an empty URL).
  .map(([path, query]) => {
    const target = path.startsWith('/') ? path : `/${path}`;
    return query === undefined ? target : `${target}?${query}`;
  })
  .filter(isOutsideSwaggerUi);

/** A header value Node accepts from a socket: tab, space, visible ASCII, and bytes 0x80–0xFF (UTF-8 read as Latin-1). */
const legalHeaderValue = fc.string({
  maxLength: 300,
  unit: fc.oneof(
    fc.constant('\t'),
    fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
  ),
});

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json;',
    'application/vnd.api+json',
    'application/jsonx',
    'text/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    '*/*',
    ';',
    '',
  ),
  legalHeaderValue,
);

const asyncMode = fc.oneof(fc.constantFrom('true', 'TRUE', ' true ', 'false', '1', ''), legalHeaderValue);

const idempotencyKey = fc.oneof(
  fc.string({ minLength: 1, maxLength: 255, unit: 'grapheme-ascii' }).filter((key) => /^[\x21-\x7e]+$/.test(key)),
  // One past the schema's 255.
  fc.integer({ min: 256, max: 400 }).map((length) => 'k'.repeat(length)),
  legalHeaderValue,
);

/** Every header optional, so "missing" is as likely as any value. */
const requestHeaders = fc.record(
  { 'content-type': contentType, 'async-mode': asyncMode, 'idempotency-key': idempotencyKey },
  { requiredKeys: [] },
);

/** `{input: <anything>}` plus extra keys (`__proto__` included): one step away from valid. */
const nearValidBody = fc
  .tuple(fc.oneof(fc.string(), fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }))
  .map(([input, extra]) => JSON.stringify({ input, ...extra }));

/** `{input}` bodies from 300 bytes under BODY_LIMIT_BYTES to 50 over; multi-byte fillers, as the limit counts bytes. */
const JSON_ENVELOPE_BYTES = '{"input":""}'.length;
const bodyNearTheLimit = fc
  .tuple(
    fc.integer({ min: TEST_CONFIG.BODY_LIMIT_BYTES - 300, max: TEST_CONFIG.BODY_LIMIT_BYTES + 50 }),
    fc.constantFrom('x', 'é', '☃', '😀'),
  )
  .map(([bytes, filler]) =>
    JSON.stringify({
      input: filler.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(filler)) - JSON_ENVELOPE_BYTES)),
    }),
  );

/** The predict body's own rule: any non-empty string; short enough that even escaped it fits BODY_LIMIT_BYTES. */
const validInput = fc.oneof(
  fc.string({ minLength: 1, maxLength: 100, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 100, unit: 'binary' }),
  // Any UTF-16 code unit, pairs included; lone surrogates (valid JSON as `\\ud800`) are not well-formed input: 400.
  fc
    .string({
      minLength: 1,
      maxLength: 100,
      unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    })
    .map((input) => input.replace(/\p{Cs}/gu, '\u{fffd}')),
);

const requestBody = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary' }),
  nearValidBody,
  bodyNearTheLimit,
);

const arbitraryRequest = fc.record({
  method: fc.constantFrom(...METHODS),
  url: requestUrl,
  headers: requestHeaders,
  payload: requestBody,
});

/**
 * A POST /predict that passes content negotiation, mostly async: arbitrary requests rarely get this far, and
 * only these reach the body limit, Idempotency-Key (two shared keys make replays and 422s likely) and Redis.
 */
const predictPost = fc.record({
  method: fc.constant('POST' as const),
  url: fc.constant('/predict'),
  headers: fc.record(
    {
      'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      'async-mode': fc.oneof(fc.constant('true'), asyncMode),
      'idempotency-key': fc.oneof(fc.constantFrom('key-1', 'key-2'), idempotencyKey),
    },
    { requiredKeys: ['content-type', 'async-mode'] },
  ),
  payload: fc.oneof(
    validInput.map((input) => JSON.stringify({ input })),
    nearValidBody,
    bodyNearTheLimit,
  ),
});

const anyRequest = fc.oneof(arbitraryRequest, predictPost);

/**
 * Success or the client's fault, never a 5xx: Redis is up with the consumer group made (so /ready is 200),
 * the queue has no cap (MAX_QUEUE_LENGTH 0), MAX_SYNC_IN_FLIGHT is far above the one request at a time sent
 * here, and the model answers at once, so no 503 (nor 500 or 504) has a cause.
 */
function isAllowedStatus(status: number): boolean {
  return (status >= 200 && status < 300) || (status >= 400 && status < 500);
}

/** The server still answers, and every job hash it wrote under the test prefix decodes. */
async function expectServingWithWellFormedJobs(): Promise<number> {
  expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  const jobKeys = await ctx.t.redis.keys(`${ctx.t.keys.jobPrefix}*`);
  for (const key of jobKeys) {
    // Throws on a hash that does not match the schema; no consumer runs, so every job is still queued.
    expect(decodeJobRecord(await ctx.t.redis.hgetall(key)), key).toMatchObject({ status: 'queued' });
  }
  return jobKeys.length;
}

describe('HTTP fuzz', () => {
  it('answers any request with 2xx or 4xx, and JSON with an `error` sentence when it refuses', async () => {
    // As a running consumer would: without the group, /ready is a 503 by design.
    await ctx.t.redis.xgroup('CREATE', ctx.t.keys.jobs, ctx.t.keys.group, '0', 'MKSTREAM');
    await fc.assert(
      fc.asyncProperty(anyRequest, async ({ method, url, headers, payload }) => {
        const response = await ctx.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
        const { statusCode } = response;
        expect(statusCode, response.body).toSatisfy(isAllowedStatus);
        // HEAD answers carry no body to check.
        if (method === 'HEAD') return;
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        const body: unknown = JSON.parse(response.body);
        // Every error is one of ours: a sentence ending in a period.
        if (statusCode >= 400) expect(body).toMatchObject({ error: expect.stringMatching(/\.$/) as string });
      }),
      { numRuns: FUZZ_RUNS },
    );
    // More than none: the Redis check below is not vacuous.
    expect(await expectServingWithWellFormedJobs()).toBeGreaterThan(0);
  });

  it('runs any valid input now (200, echoed) or queues it (202, then still processing)', async () => {
    await fc.assert(
      fc.asyncProperty(validInput, async (input) => {
        const now = await ctx.client.post({ input });
        expect(now.status).toBe(200);
        const output = JSON.parse(now.body) as { input: string; result: string };
        expect(output).toEqual({ input, result: expect.stringMatching(/^\d+$/) as string });
        // The assignment's model answers an integer in 1000–20000.
        expect(Number(output.result)).toBeGreaterThanOrEqual(1000);
        expect(Number(output.result)).toBeLessThanOrEqual(20000);

        const id = await ctx.client.submit(input);
        // No consumer runs in this file, so the job stays queued.
        const poll = await ctx.client.get(id);
        expect(poll.status).toBe(400);
        expect(poll.body).toBe('{"error":"Prediction is still being processed."}');
      }),
      { numRuns: VALID_INPUT_RUNS },
    );
    expect(await expectServingWithWellFormedJobs()).toBe(VALID_INPUT_RUNS);
  });
});

/** What a client may put in Authorization: anything legal, near-miss keys, other schemes, 16 KiB, Latin-1 bytes. */
const authorization = fc.oneof(
  // A configured key as it should be sent: often enough that admitted requests are fuzzed too.
  { arbitrary: fc.constantFrom(`Bearer ${KEY_A}`, `Bearer ${KEY_B}`), weight: 2 },
  legalHeaderValue,
  legalHeaderValue.map((value) => `Bearer ${value}`),
  fc
    .tuple(
      fc.constantFrom(KEY_A, KEY_B, NOT_A_KEY),
      fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Basic ', 'Bearer\t', 'Bearer', ''),
      fc.constantFrom('', ' ', '=', 'x', ' x', '\t'),
      fc.boolean(),
    )
    .map(([key, scheme, suffix, cut]) => `${scheme}${cut ? key.slice(1) : key}${suffix}`),
  fc.nat({ max: 16 * 1024 }).map((length) => `Bearer ${'k'.repeat(length)}`),
  fc
    .string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 300 })
    .map((value) => `Bearer ${value}`),
);

/** Whether `header` carries a configured key as RFC 6750 spells it: the one case that gets past the 401. */
const CARRIES_A_KEY = new RegExp(`^bearer +(${KEY_A}|${KEY_B}) *$`, 'i');

const keyedRequest = fc.record({
  authorization: fc.option(authorization, { nil: undefined }),
  route: fc.oneof(
    fc.record({ kind: fc.constant('post' as const), async: fc.boolean(), input: validInput }),
    // Ids the router routes: a URL it cannot (bad percent-encoding, an id over 16 KiB) is a 404 before any hook.
    fc.record({
      kind: fc.constant('get' as const),
      id: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 200 })),
    }),
  ),
});

describe('HTTP fuzz of Authorization, with API keys on', () => {
  const keyed = useKeyedApps();
  const MISSING = '{"error":"This route needs an API key: send Authorization: Bearer <key>.","code":"UNAUTHORIZED"}';
  const INVALID = '{"error":"The API key is not valid.","code":"INVALID_API_KEY"}';

  it('answers 401 with a short JSON sentence and a challenge unless a configured key is sent, and never a 5xx', async () => {
    // The rate limiter runs on every admitted request (its limit far above this run's count).
    const app = await keyed.build({ config: { RATE_LIMIT_PER_MINUTE: 1_000_000 } });
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(keyedRequest, async ({ authorization: header, route }) => {
        const client = clientWith(app, header === undefined ? {} : { authorization: header });
        const response =
          route.kind === 'post'
            ? await client.post({ input: route.input }, route.async ? { 'async-mode': 'true' } : {})
            : await client.get(route.id);
        expect(response.status, response.body).toSatisfy(isAllowedStatus);
        if (header !== undefined && CARRIES_A_KEY.test(header)) {
          admitted += 1;
          expect(response.status, response.body).not.toBe(401);
          expect(response.headers['www-authenticate']).toBeUndefined();
          return;
        }
        expect(response.status).toBe(401);
        expect([MISSING, INVALID]).toContain(response.body);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="foretell"(, error="invalid_token")?$/);
      }),
      { numRuns: FUZZ_RUNS },
    );
    // Both outcomes were reached: the property checked admitted requests too.
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(FUZZ_RUNS);
  });
});
