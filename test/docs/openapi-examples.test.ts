// Every example answer of the OpenAPI document (GET /docs/json: each
// response's content['application/json'].example), provoked for real on the
// built API and compared with the real answer, byte for byte, with the headers
// the document names. apps/api/test/openapi.test.ts checks the examples
// against the error catalogue; this checks them against what the API says.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { redisKeys } from '@foretell/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictResponse } from '../support/predict-client.js';
import { rawExchange, type RawAnswer } from '../support/readme-raw-http.js';
import {
  startDocService,
  unreachableRedis,
  type DocService,
  type UnreachableRedis,
} from '../support/readme-services.js';
import { testRedis, type TestRedis } from '../support/test-redis.js';

const FAILING_MODEL = fileURLToPath(new URL('../fixtures/consumer-failing-model.mjs', import.meta.url));
const API_KEY = randomBytes(33).toString('base64');
// Small enough that one input over it is refused (503 QUEUE_FULL) however empty the queue.
const MAX_QUEUE_BYTES = 65_536;
const DEADLINE_MS = 1000;

interface Response {
  readonly description?: string;
  readonly headers?: Record<string, unknown>;
  readonly content?: Record<string, { example?: unknown }>;
}
interface OpenApiDocument {
  readonly paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
}

let t: TestRedis | undefined;
let noRedis: UnreachableRedis | undefined;
const services: Partial<Record<'open' | 'noRedis' | 'keys', DocService>> = {};
const documents: Partial<Record<'open' | 'keys', OpenApiDocument>> = {};

function service(name: keyof typeof services): DocService {
  const found = services[name];
  if (!found) throw new Error(`beforeAll did not start the ${name} service`);
  return found;
}

async function documentOf(target: DocService): Promise<OpenApiDocument> {
  const response = await target.client.send({ method: 'GET', url: '/docs/json' });
  if (response.status !== 200) throw new Error(`/docs/json: ${response.status} ${response.body}`);
  return JSON.parse(response.body) as OpenApiDocument;
}

beforeAll(async () => {
  const redis = testRedis();
  t = redis;
  const common = { redis: redis.redis, redisUrl: redis.url };
  noRedis = await unreachableRedis();
  const started = await Promise.allSettled(
    (
      [
        // No consumer (no group: /ready is 503, jobs stay queued); a model that always throws.
        [
          'open',
          {
            ...common,
            api: {
              MODEL_MODULE: FAILING_MODEL,
              FIXTURE_MODEL_FAILS: 'true',
              MAX_QUEUE_BYTES: String(MAX_QUEUE_BYTES),
            },
          },
        ],
        // Redis unreachable; a model slower than the sync timeout; deadlines short enough to wait for.
        [
          'noRedis',
          {
            ...common,
            redisUrl: noRedis.url,
            api: {
              MODEL_MIN_LATENCY_MS: '60000',
              MODEL_MAX_LATENCY_MS: '60000',
              SYNC_TIMEOUT_MS: String(DEADLINE_MS),
              REQUEST_TIMEOUT_MS: String(DEADLINE_MS),
              HEADERS_TIMEOUT_MS: String(DEADLINE_MS),
            },
          },
        ],
        // API keys on, with a cap of one job per key: the document adds 401 and 429.
        ['keys', { ...common, api: { API_KEYS: API_KEY, MAX_JOBS_PER_KEY: '1' } }],
      ] as const
    ).map(async ([name, options]) => {
      services[name] = await startDocService(options);
    }),
  );
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  documents.open = await documentOf(service('open'));
  documents.keys = await documentOf(service('keys'));
}, 90_000);

afterAll(async () => {
  try {
    await Promise.all(Object.values(services).map((running) => running.stop()));
  } finally {
    await noRedis?.close();
    await t?.cleanup();
  }
}, 60_000);

type Answer = PredictResponse | RawAnswer;

/** A request that stops half-way, for the server's deadline to answer. */
const STALLED_POST =
  'POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"input":';
const STALLED_GET = 'GET /predict/abc123 HTTP/1.1\r\nHost: localhost\r\n';
/** Headers over Node's 16 KiB limit. */
const oversizedHeaders = (requestLine: string) =>
  `${requestLine}\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`;

const DEAD_LETTERS = '/dashboard/api/dead-letters';
const REPLAY = '/dashboard/api/dead-letters/{entryId}/replay';
const JOBS = '/dashboard/api/jobs/{id}';
const dashboardGet = (target: 'open' | 'noRedis', url: string) => service(target).client.send({ method: 'GET', url });
const dashboardPost = (target: 'open' | 'noRedis', url: string) => service(target).client.send({ method: 'POST', url });

/** The dashboard's JSON endpoints' documented errors. */
const DASHBOARD_CASES: Record<string, () => Promise<Answer>> = {
  'GET /dashboard/api/overview 503': () => dashboardGet('noRedis', '/dashboard/api/overview'),
  [`GET ${DEAD_LETTERS} 400`]: () => dashboardGet('open', `${DEAD_LETTERS}?count=0`),
  [`GET ${DEAD_LETTERS} 503`]: () => dashboardGet('noRedis', DEAD_LETTERS),
  [`POST ${REPLAY} 400`]: () => dashboardPost('open', `${DEAD_LETTERS}/abc/replay`),
  [`POST ${REPLAY} 404`]: () => dashboardPost('open', `${DEAD_LETTERS}/1-1/replay`),
  async [`POST ${REPLAY} 409`]() {
    if (!t) throw new Error('beforeAll failed');
    const dead = redisKeys(service('open').prefix).dead;
    const entryId = await t.redis.xadd(dead, '*', 'entry', '1-0', 'reason', 'odd number of fields', 'fields', '[]');
    return dashboardPost('open', `${DEAD_LETTERS}/${entryId}/replay`);
  },
  [`POST ${REPLAY} 503`]: () => dashboardPost('noRedis', `${DEAD_LETTERS}/1-1/replay`),
  [`GET ${JOBS} 400`]: () => dashboardGet('open', '/dashboard/api/jobs/abc'),
  [`GET ${JOBS} 404`]: () => dashboardGet('open', `/dashboard/api/jobs/${randomUUID()}`),
  [`GET ${JOBS} 503`]: () => dashboardGet('noRedis', `/dashboard/api/jobs/${randomUUID()}`),
};

/** The id the document's examples show: the cases give a job of the open service's this id, in the state they need. */
const EXAMPLE_ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';
const CANCEL = '/predict/{prediction_id}/cancel';

/** The example id's job in the open service, as the consumers or a cancel would leave it. */
async function exampleJob(status: 'queued' | 'succeeded' | 'canceled'): Promise<void> {
  if (!t) throw new Error('beforeAll failed');
  const key = redisKeys(service('open').prefix).job(EXAMPLE_ID);
  await t.redis.del(key);
  await t.redis.hset(
    key,
    'status',
    status,
    'input',
    'x',
    'attempts',
    '0',
    ...(status === 'succeeded' ? ['result', '1'] : []),
  );
}

const cancelExample = (target: 'open' | 'noRedis', id = EXAMPLE_ID, body?: string) =>
  service(target).client.send({
    method: 'POST',
    url: `/predict/${id}/cancel`,
    ...(body !== undefined && { headers: { 'content-type': 'text/plain' }, body }),
  });

/** The cancel route's documented answers, and GET's for a canceled job. */
const CANCEL_CASES: Record<string, () => Promise<Answer>> = {
  async [`POST ${CANCEL} 200`]() {
    await exampleJob('queued');
    return cancelExample('open');
  },
  [`POST ${CANCEL} 404`]: () => cancelExample('open', randomUUID()),
  [`POST ${CANCEL} 408`]: () =>
    rawExchange(
      service('noRedis').port,
      `POST /predict/${EXAMPLE_ID}/cancel HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nx`,
    ),
  async [`POST ${CANCEL} 409`]() {
    await exampleJob('succeeded');
    return cancelExample('open');
  },
  [`POST ${CANCEL} 413`]: () => cancelExample('open', EXAMPLE_ID, 'x'.repeat(4096)),
  [`POST ${CANCEL} 431`]: () =>
    rawExchange(service('open').port, oversizedHeaders(`POST /predict/${EXAMPLE_ID}/cancel HTTP/1.1`)),
  [`POST ${CANCEL} 503`]: () => cancelExample('noRedis'),
  async 'GET /predict/{prediction_id} 409'() {
    await exampleJob('canceled');
    return service('open').client.get(EXAMPLE_ID);
  },
};

/** How each documented answer is provoked: `METHOD path status` → the real answer. */
const OPEN_CASES: Record<string, () => Promise<Answer>> = {
  'POST /predict 400': () => service('open').client.post({}),
  'POST /predict 408': () => rawExchange(service('noRedis').port, STALLED_POST),
  'POST /predict 413': () => service('open').client.post({ input: 'x'.repeat(1024 * 1024) }),
  'POST /predict 415': () => service('open').client.post('hello', { 'content-type': 'text/plain' }),
  async 'POST /predict 422'() {
    const { client } = service('open');
    const key = { 'idempotency-key': `openapi-${randomUUID()}` };
    await client.submit('first body', key);
    return client.post({ input: 'another body' }, { 'async-mode': 'true', ...key });
  },
  'POST /predict 431': () => rawExchange(service('open').port, oversizedHeaders('POST /predict HTTP/1.1')),
  'POST /predict 500': () => service('open').client.post({ input: 'x' }),
  'POST /predict 503': () =>
    service('open').client.post({ input: 'x'.repeat(MAX_QUEUE_BYTES + 1) }, { 'async-mode': 'true' }),
  'POST /predict 504': () => service('noRedis').client.post({ input: 'x' }),
  async 'GET /predict/{prediction_id} 400'() {
    const { client } = service('open');
    const id = await client.submit('x');
    // A wait of 0 s: the same answer, with the Preference-Applied the document names for it.
    return client.send({ method: 'GET', url: `/predict/${id}`, headers: { prefer: 'wait=0' } });
  },
  'GET /predict/{prediction_id} 404': () => service('open').client.get(randomUUID()),
  'GET /predict/{prediction_id} 408': () => rawExchange(service('noRedis').port, STALLED_GET),
  'GET /predict/{prediction_id} 431': () =>
    rawExchange(service('open').port, oversizedHeaders('GET /predict/abc123 HTTP/1.1')),
  'GET /predict/{prediction_id} 503': () => service('noRedis').client.get(randomUUID()),
  async 'GET /predict/{prediction_id}/events 400'() {
    const { client } = service('open');
    const id = await client.submit('x');
    return client.send({ method: 'GET', url: `/predict/${id}/events`, headers: { 'last-event-id': 'abc' } });
  },
  'GET /predict/{prediction_id}/events 404': () =>
    service('open').client.send({ method: 'GET', url: `/predict/${randomUUID()}/events` }),
  'GET /predict/{prediction_id}/events 503': () =>
    service('noRedis').client.send({ method: 'GET', url: `/predict/${randomUUID()}/events` }),
  'GET /ready 503': () => service('open').client.send({ method: 'GET', url: '/ready' }),
  ...CANCEL_CASES,
  ...DASHBOARD_CASES,
};

const bearer = { authorization: `Bearer ${API_KEY}` };
/** What API keys add to the document. */
const KEYED_CASES: Record<string, () => Promise<Answer>> = {
  'POST /predict 401': () => service('keys').client.post({ input: 'x' }),
  async 'POST /predict 429'() {
    const { client } = service('keys');
    await client.submit('the one job the key may have', bearer);
    return client.post({ input: 'one more' }, { 'async-mode': 'true', ...bearer });
  },
  'GET /predict/{prediction_id} 401': () => service('keys').client.get(randomUUID()),
  [`POST ${CANCEL} 401`]: () => service('keys').client.send({ method: 'POST', url: `/predict/${randomUUID()}/cancel` }),
  'GET /predict/{prediction_id}/events 401': () =>
    service('keys').client.send({ method: 'GET', url: `/predict/${randomUUID()}/events` }),
  'GET /dashboard/api/overview 401': () =>
    service('keys').client.send({ method: 'GET', url: '/dashboard/api/overview' }),
  [`GET ${DEAD_LETTERS} 401`]: () => service('keys').client.send({ method: 'GET', url: DEAD_LETTERS }),
  [`POST ${REPLAY} 401`]: () => service('keys').client.send({ method: 'POST', url: `${DEAD_LETTERS}/1-1/replay` }),
  [`GET ${JOBS} 401`]: () => service('keys').client.send({ method: 'GET', url: `/dashboard/api/jobs/${randomUUID()}` }),
};

/** `METHOD path status` → the response, for every response with an example. */
function examples(document: OpenApiDocument | undefined): Map<string, Response & { example: unknown }> {
  if (!document) throw new Error('beforeAll failed');
  const found = new Map<string, Response & { example: unknown }>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, { responses }] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(responses)) {
        const example = response.content?.['application/json']?.example;
        if (example !== undefined) found.set(`${method.toUpperCase()} ${path} ${status}`, { ...response, example });
      }
    }
  }
  return found;
}

async function expectExample(document: OpenApiDocument | undefined, key: string, provoke: () => Promise<Answer>) {
  const response = examples(document).get(key);
  if (!response) throw new Error(`the document has no example for ${key}`);
  const real = await provoke();
  const status = Number(key.split(' ').at(-1));
  expect({ status: real.status, body: real.body }).toEqual({ status, body: JSON.stringify(response.example) });
  // Every header the document names for this answer is there.
  const named = Object.keys(response.headers ?? {}).map((name) => name.toLowerCase());
  expect(named.filter((name) => real.headers[name] === undefined)).toEqual([]);
}

describe('the OpenAPI examples, provoked for real', () => {
  it('are each provoked by a case below, and every case has its example', () => {
    const open = examples(documents.open);
    const keyed = examples(documents.keys);
    expect([...open.keys()].sort()).toEqual(Object.keys(OPEN_CASES).sort());
    expect([...keyed.keys()].sort()).toEqual([...Object.keys(OPEN_CASES), ...Object.keys(KEYED_CASES)].sort());
    // With keys on, the other answers are documented as without.
    for (const key of open.keys()) expect(keyed.get(key)?.example, key).toEqual(open.get(key)?.example);
  });

  it.each(Object.keys(OPEN_CASES))('%s: the real answer is the example', async (key) => {
    const provoke = OPEN_CASES[key];
    if (!provoke) throw new Error(`no case ${key}`);
    await expectExample(documents.open, key, provoke);
  });

  it.each(Object.keys(KEYED_CASES))('with API keys, %s: the real answer is the example', async (key) => {
    const provoke = KEYED_CASES[key];
    if (!provoke) throw new Error(`no case ${key}`);
    await expectExample(documents.keys, key, provoke);
  });
});
