import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORETELL_VERSION, mockResult, redisKeys, type RedisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { type AppProcess, startApp, waitForApi } from '../support/app-process.js';
import { fetchClient, type PredictClient, type PredictResponse } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const KEY_A = 'e2e-key-of-team-a-0123456789abcdef';
const KEY_B = 'e2e-key-of-team-b-0123456789abcdef';
const UNKNOWN_ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';
const MISSING_KEY = '{"error":"This route needs an API key: send Authorization: Bearer <key>.","code":"UNAUTHORIZED"}';
const TOO_MANY_JOBS =
  '{"error":"This API key has too many jobs queued or running; retry once some have finished.","code":"TOO_MANY_JOBS"}';
const RATE_LIMITED =
  '{"error":"Too many requests with this API key; retry after Retry-After seconds.","code":"RATE_LIMITED"}';

/** A fetch client for one API process that sends `key` with every request. */
function clientFor(base: string, key: string | undefined): PredictClient {
  const plain = fetchClient(base);
  if (key === undefined) return plain;
  const send: PredictClient['send'] = (request) =>
    plain.send({ ...request, headers: { ...request.headers, authorization: `Bearer ${key}` } });
  return {
    send,
    post: (body, headers = {}) => plain.post(body, { ...headers, authorization: `Bearer ${key}` }),
    submit: (input, headers = {}) => plain.submit(input, { ...headers, authorization: `Bearer ${key}` }),
    get: (id) => send({ method: 'GET', url: `/predict/${encodeURIComponent(id)}` }),
  };
}

/**
 * This test's processes on the run's redis-server under a fresh prefix: API
 * processes with the keys in a key file, and at most one consumer whose model
 * the test holds. Everything it started is killed and its keys deleted after
 * each test.
 */
class Deployment {
  readonly prefix = `e2e-keys-${randomUUID().slice(0, 8)}`;
  readonly keys: RedisKeys = redisKeys(this.prefix);
  readonly redis = new Redis(inject('redisUrl'));
  readonly gate: ModelGate = modelGate(this.redis, this.prefix);
  readonly processes: AppProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'foretell-e2e-keys-'));
  readonly keysFile = join(this.dir, 'api-keys');

  constructor() {
    writeFileSync(this.keysFile, `# team A\n${KEY_A}\n\n# team B\n${KEY_B}\n`);
  }

  /** Throws as soon as any process of this deployment is gone. */
  readonly allRunning = () => this.processes.forEach((process) => process.assertRunning());

  startConsumer(): AppProcess {
    const consumer = startApp('consumer', {
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: this.prefix,
      CONSUMER_NAME: `${this.prefix}-consumer`,
      ...this.gate.env,
    });
    this.processes.push(consumer);
    return consumer;
  }

  /** An API process with the key file and `env`, once it answers /ready; the mock model (latency 0) serves sync. */
  async startApi(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const api = startApp('api', {
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: this.prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEYS_FILE: this.keysFile,
      MODEL_MIN_LATENCY_MS: '0',
      MODEL_MAX_LATENCY_MS: '0',
      ...env,
    });
    this.processes.push(api);
    const base = `http://127.0.0.1:${port}`;
    // No key: /ready is open.
    await waitForApi(base, '/ready', this.allRunning);
    return base;
  }

  async dispose(): Promise<void> {
    try {
      await Promise.all(this.processes.map((process) => process.kill()));
      const found = await this.redis.keys(`${this.prefix}:*`);
      if (found.length > 0) await this.redis.del(...found);
    } finally {
      await this.redis.quit();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Polls a GET of the job with its owner's client until it is no longer "still processing". */
function settled(deployment: Deployment, client: PredictClient, id: string): Promise<PredictResponse> {
  return waitFor(
    async () => {
      const response = await client.get(id);
      return response.status === 400 ? undefined : response;
    },
    { timeoutMs: 10_000, what: `job ${id} to settle`, unless: deployment.allRunning },
  );
}

describe('API keys in the real processes (API_KEYS_FILE)', () => {
  let deployment: Deployment | undefined;
  const current = (): Deployment => {
    if (!deployment) throw new Error("no deployment: this test's beforeEach did not make one");
    return deployment;
  };

  beforeEach(() => {
    deployment = new Deployment();
  });

  afterEach(async () => {
    const own = deployment;
    deployment = undefined;
    await own?.dispose();
  });

  it('asks for a key, keeps each job to its key, and caps the jobs a key has queued or running', async () => {
    const d = current();
    d.startConsumer();
    const base = await d.startApi({ MAX_JOBS_PER_KEY: '2' });
    const [a, b, anonymous] = [clientFor(base, KEY_A), clientFor(base, KEY_B), clientFor(base, undefined)];

    // Over a socket, with a body the server does not read: the client still gets its 401.
    const refused = await anonymous.post({ input: 'x'.repeat(500_000) }, { 'async-mode': 'true' });
    expect(refused.status).toBe(401);
    expect(refused.body).toBe(MISSING_KEY);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="foretell"');
    expect((await anonymous.send({ method: 'GET', url: '/health' })).body).toBe(
      `{"status":"ok","version":"${FORETELL_VERSION}"}`,
    );

    // Two jobs of A, running and held in the model: A is at its cap.
    const first = await a.submit('a-one');
    const second = await a.submit('a-two');
    await d.gate.held(2, { unless: d.allRunning });
    const capped = await a.post({ input: 'a-three' }, { 'async-mode': 'true' });
    expect(capped.status).toBe(429);
    expect(capped.body).toBe(TOO_MANY_JOBS);
    expect(Number(capped.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // B sees none of A's jobs, exactly as an id that does not exist.
    const unknown = await b.get(UNKNOWN_ID);
    expect(unknown.status).toBe(404);
    for (const id of [first, second]) {
      const crossed = await b.get(id);
      expect([crossed.status, crossed.body, crossed.headers['content-length']]).toEqual([
        unknown.status,
        unknown.body,
        unknown.headers['content-length'],
      ]);
    }

    // One of A's jobs finishes: A may queue exactly one more.
    await d.gate.release(1);
    const done = await waitFor(
      async () => {
        for (const [id, input] of [
          [first, 'a-one'],
          [second, 'a-two'],
        ] as const) {
          const response = await a.get(id);
          if (response.status === 200) return { id, input, body: response.body };
        }
        return undefined;
      },
      { timeoutMs: 10_000, what: 'one of the two jobs to finish', unless: d.allRunning },
    );
    expect(done.body).toBe(
      JSON.stringify({ prediction_id: done.id, output: { input: done.input, result: mockResult(done.input) } }),
    );
    const third = await a.submit('a-three');
    expect((await a.post({ input: 'a-four' }, { 'async-mode': 'true' })).status).toBe(429);
    // B's cap is its own.
    const ofB = await b.submit('b-one');

    await d.gate.release(3);
    for (const id of [first, second, third]) expect((await settled(d, a, id)).status).toBe(200);
    expect((await settled(d, b, ofB)).status).toBe(200);
    expect((await b.get(third)).body).toBe(unknown.body);
  });

  it('counts the requests of a key across two API processes sharing Redis (RATE_LIMIT_PER_MINUTE)', async () => {
    const d = current();
    d.startConsumer();
    const env = { RATE_LIMIT_PER_MINUTE: '4' };
    const [one, two] = await Promise.all([d.startApi(env), d.startApi(env)]);
    const [a1, a2] = [clientFor(one, KEY_A), clientFor(two, KEY_A)];
    const served: number[] = [];
    for (const client of [a1, a2, a1, a2]) served.push((await client.post({ input: 'x' })).status);
    expect(served).toEqual([200, 200, 200, 200]);

    for (const client of [a1, a2]) {
      const limited = await client.post({ input: 'x' });
      expect(limited.status).toBe(429);
      expect(limited.body).toBe(RATE_LIMITED);
      const seconds = Number(limited.headers['retry-after']);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
    }
    // B's count is its own, on both processes.
    for (const base of [one, two]) {
      const answer = await clientFor(base, KEY_B).post({ input: 'b' });
      expect(answer.body).toBe(JSON.stringify({ input: 'b', result: mockResult('b') }));
    }
  });

  it.each([
    [
      'a key under 32 characters',
      { API_KEYS: 'short-but-secret' },
      'API_KEYS: key 1 of 1 is shorter than 32 characters',
    ],
    [
      'a key file that does not exist',
      { API_KEYS_FILE: '/nonexistent/foretell-keys' },
      'API_KEYS_FILE: cannot read "/nonexistent/foretell-keys" (ENOENT)',
    ],
    [
      'a per-key limit without keys',
      { RATE_LIMIT_PER_MINUTE: '10' },
      'RATE_LIMIT_PER_MINUTE: is a limit per API key; set API_KEYS or API_KEYS_FILE too',
    ],
  ])('refuses to start with %s, saying why without printing a key', async (_, env, problem) => {
    const d = current();
    const api = startApp('api', {
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: d.prefix,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ...env,
    });
    d.processes.push(api);
    expect(await api.exited).toBe(1);
    expect(api.lines.join('\n')).toContain(problem);
    expect(api.lines.join('\n')).not.toContain('short-but-secret');
  });
});
