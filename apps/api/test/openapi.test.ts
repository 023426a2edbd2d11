import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { ERROR_CATALOGUE } from '../src/errors.js';
import { buildTestApp } from './build-test-app.js';

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
  responses: Record<
    string,
    {
      description?: string;
      content?: Record<string, { schema: object; example?: { error?: string; code?: string } }>;
      headers?: Record<string, object>;
    }
  >;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

let t: TestRedis | undefined;
let app: FastifyInstance | undefined;
let doc: Document;

beforeAll(async () => {
  t = testRedis();
  app = await buildTestApp(t.redis, t.prefix);
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  expect(response.statusCode).toBe(200);
  doc = response.json<Document>();
});

afterAll(async () => {
  // Whatever beforeAll got to make, even if it failed half-way.
  try {
    await app?.close();
  } finally {
    await t?.cleanup();
  }
});

const EXPECTED: [path: string, method: string, statuses: string[]][] = [
  ['/predict', 'post', ['200', '202', '400', '408', '413', '415', '422', '431', '500', '503', '504']],
  ['/predict/{prediction_id}', 'get', ['200', '400', '404', '408', '409', '431', '500', '503']],
  ['/predict/{prediction_id}/cancel', 'post', ['200', '404', '408', '409', '413', '431', '503']],
  ['/health', 'get', ['200']],
  ['/ready', 'get', ['200', '503']],
  ['/dashboard/api/access', 'get', ['200']],
  ['/dashboard/api/overview', 'get', ['200', '503']],
  ['/dashboard/api/dead-letters', 'get', ['200', '400', '503']],
  ['/dashboard/api/dead-letters/{entryId}/replay', 'post', ['200', '400', '404', '409', '503']],
  ['/dashboard/api/jobs/{id}', 'get', ['200', '400', '404', '503']],
];

describe('the OpenAPI document at /docs/json', () => {
  it('is OpenAPI 3 and lists exactly the public routes', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/dashboard',
      '/dashboard/api/access',
      '/dashboard/api/dead-letters',
      '/dashboard/api/dead-letters/{entryId}/replay',
      '/dashboard/api/jobs/{id}',
      '/dashboard/api/overview',
      '/health',
      '/metrics',
      '/predict',
      '/predict/{prediction_id}',
      '/predict/{prediction_id}/cancel',
      '/predict/{prediction_id}/events',
      '/ready',
    ]);
  });

  it("documents /metrics as Prometheus's text format, not JSON", () => {
    const ok = doc.paths['/metrics']?.get?.responses['200'];
    expect(Object.keys(ok?.content ?? {})).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
  });

  it.each(EXPECTED)('%s %s documents every status with a JSON body schema', (path, method, statuses) => {
    const operation = doc.paths[path]?.[method];
    expect(operation).toBeDefined();
    expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(statuses.sort());
    for (const status of statuses) {
      expect(operation?.responses[status]?.content?.['application/json']?.schema).toBeTypeOf('object');
    }
  });

  it("gives every error example a code of the catalogue with that status, and the catalogue's message", () => {
    const examples = Object.values(doc.paths).flatMap((operations) =>
      Object.values(operations).flatMap((operation) =>
        Object.entries(operation.responses).flatMap(([status, response]) =>
          [response.content?.['application/json']?.example ?? {}].map((example) => ({ status, example })),
        ),
      ),
    );
    const coded = examples.filter(({ example }) => example.code !== undefined);
    expect(coded.length).toBeGreaterThan(8);
    for (const { status, example } of coded) {
      const entry = ERROR_CATALOGUE[example.code as keyof typeof ERROR_CATALOGUE] as
        { statusCode: number; message: string } | undefined;
      // These two say what was invalid or missing; every other code has one sentence.
      const message = ['INVALID_REQUEST', 'NOT_READY'].includes(example.code ?? '') ? example.error : entry?.message;
      expect({ code: example.code, status: entry?.statusCode, error: message }).toEqual({
        code: example.code,
        status: Number(status),
        error: example.error,
      });
    }
  });

  it('names, in the 503 of POST /predict, every 503 code the route can answer', () => {
    const description = doc.paths['/predict']?.post?.responses['503']?.description ?? '';
    const codes = Object.entries(ERROR_CATALOGUE)
      // TOO_MANY_WAITERS: only live events answer it (a POST over MAX_WAITERS answers without waiting).
      .filter(([code, { statusCode }]) => statusCode === 503 && !['NOT_READY', 'TOO_MANY_WAITERS'].includes(code))
      .map(([code]) => code);
    expect(codes).toContain('REDIS_FULL');
    for (const code of codes) expect(description).toContain(`\`${code}\``);
  });

  it('documents the Async-Mode and Idempotency-Key headers and the JSON body of POST /predict', () => {
    const operation = doc.paths['/predict']?.post;
    expect(operation?.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'async-mode' }));
    expect(operation?.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key' }));
    expect(operation?.requestBody?.content['application/json']?.schema.required).toEqual(['input']);
  });

  it('documents Retry-After on "still processing" and 503 answers, and Location on 202', () => {
    const get = doc.paths['/predict/{prediction_id}']?.get;
    expect(Object.keys(get?.responses['400']?.headers ?? {})).toEqual(['Retry-After', 'Preference-Applied']);
    expect(Object.keys(get?.responses['503']?.headers ?? {})).toEqual(['Retry-After']);
    expect(Object.keys(doc.paths['/predict']?.post?.responses['202']?.headers ?? {})).toEqual([
      'Location',
      'Idempotent-Replayed',
      'Preference-Applied',
    ]);
  });

  it('documents long-poll: the wait parameter, the Prefer header, Preference-Applied, and the POST 200 under a wait', () => {
    const get = doc.paths['/predict/{prediction_id}']?.get as unknown as {
      parameters: { in: string; name: string; description: string; example?: unknown; schema: { pattern?: string } }[];
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    const byName = new Map(get.parameters.map((parameter) => [`${parameter.in} ${parameter.name}`, parameter]));
    // Examples in words, not `example`: Swagger UI would pre-fill them, and every "Try it out" would wait.
    expect(byName.get('query wait')).toMatchObject({ schema: { pattern: '^[0-9]+$' } });
    expect(byName.get('query wait')?.description).toMatch(/For example `10`/);
    expect(byName.get('header prefer')?.description).toMatch(/For example `wait=10`/);
    expect([...byName.values()].filter((parameter) => parameter.example !== undefined)).toEqual([
      expect.objectContaining({ name: 'prediction_id' }),
    ]);
    expect(Object.keys(get.responses['200']?.headers ?? {})).toContain('Preference-Applied');
    const post = doc.paths['/predict']?.post as unknown as {
      parameters: { in: string; name: string; description: string; example?: unknown }[];
      responses: Record<string, { description: string; headers?: Record<string, unknown> }>;
    };
    const prefer = post.parameters.find((parameter) => parameter.name === 'prefer');
    expect(prefer).toMatchObject({ in: 'header' });
    expect(prefer?.example).toBeUndefined();
    expect(prefer?.description).toMatch(/For example `respond-async, wait=10`/);
    expect(post.responses['200']?.description).toMatch(/Prefer: wait=N/);
    expect(Object.keys(post.responses['200']?.headers ?? {})).toContain('Preference-Applied');
  });

  it('serves Swagger UI at /docs', async () => {
    if (!app) throw new Error('beforeAll failed');
    const response = await app.inject({ method: 'GET', url: '/docs' });
    const page =
      response.statusCode === 302
        ? await app.inject({ method: 'GET', url: response.headers.location as string })
        : response;
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
  });
});
