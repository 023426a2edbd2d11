import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisKeys } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { waitForApi, waitForLog } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// MODEL_MODULE as an operator sets it: a path relative to the working directory.
const FIXTURES = 'test/fixtures';

const apps = useAppsOnPrefix('e2e-model');
const start = (app: 'api' | 'consumer', env: Record<string, string>) => apps.start(app, env);

describe('MODEL_MODULE whose createModel() is synchronous', () => {
  it('serves sync predictions in the API and runs async jobs in the consumer', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { MODEL_MODULE: `${FIXTURES}/model-sync.mjs` };
    const api = start('api', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const consumer = start('consumer', { ...env, CONSUMER_NAME: `${apps.prefix}-consumer` });
    await waitForLog(consumer, 'consumer started');
    await waitFor(async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok, {
      what: 'the API to listen',
      unless: () => api.assertRunning(),
    });
    const client = fetchClient(base);

    // The fixture answers 1000 + the input's length, which the mock model would not.
    const sync = await client.post({ input: 'four' });
    expect(sync.status).toBe(200);
    expect(sync.body).toBe('{"input":"four","result":"1004"}');
    expect(sync.headers['foretell-model-name']).toBe('length');
    expect(sync.headers['foretell-model-version']).toBe('0.1.0');

    const id = await client.submit('sixsix');
    let last = '';
    await waitFor(
      async () => {
        const answer = await client.get(id);
        last = `${answer.status} ${answer.body}`;
        return answer.status === 200;
      },
      { what: 'the consumer to run the job', unless: () => consumer.assertRunning() },
    );
    expect(last).toBe(`200 {"prediction_id":"${id}","output":{"input":"sixsix","result":"1006"}}`);
    expect(await apps.redis.hget(redisKeys(apps.prefix).job(id), 'status')).toBe('succeeded');
    // The job names the model the consumer ran it with.
    const done = await client.get(id);
    expect([done.headers['foretell-model-name'], done.headers['foretell-model-version']]).toEqual(['length', '0.1.0']);
  });
});

describe('a MODEL_MODULE that does not fit fails the start, with a message saying why', () => {
  const BAD: [what: string, file: string, message: string][] = [
    ['exports no createModel', 'model-no-factory.mjs', 'does not export a createModel function'],
    [
      'returns no predict method',
      'model-no-predict.mjs',
      'returned a model that does not fit: name is missing (a string of 1 to 100 visible ASCII characters, no spaces); ' +
        'version is missing (a string of 1 to 100 visible ASCII characters, no spaces); ' +
        'it has neither predict(input, { signal }) nor predictBatch(inputs, { signal })',
    ],
    ['throws in createModel', 'model-factory-throws.mjs', 'failed: model weights not found at /nowhere/weights.bin'],
    ['does not exist', 'model-missing.mjs', 'could not be imported: Cannot find module'],
  ];

  it.each(BAD)('the API, when the module %s: exits 1 with one line on stderr', async (_, file, message) => {
    const path = `${FIXTURES}/${file}`;
    const api = start('api', { MODEL_MODULE: path, PORT: String(await freePort()), HOST: '127.0.0.1' });
    expect(await api.exited).toBe(1);
    expect(api.stdout).toEqual([]);
    expect(api.lines).toHaveLength(1);
    expect(api.lines[0]).toMatch(/^foretell api: /);
    expect(api.lines[0]).toContain(path);
    expect(api.lines[0]).toContain(message);
  });

  it.each(BAD)('the consumer, when the module %s: exits 1 with one line on stderr', async (_, file, message) => {
    const path = `${FIXTURES}/${file}`;
    const consumer = start('consumer', { MODEL_MODULE: path, CONSUMER_NAME: `${apps.prefix}-consumer` });
    expect(await consumer.exited).toBe(1);
    expect(consumer.stdout).toEqual([]);
    expect(consumer.lines).toHaveLength(1);
    expect(consumer.lines[0]).toMatch(/^foretell consumer: /);
    expect(consumer.lines[0]).toContain(path);
    expect(consumer.lines[0]).toContain(message);
    // It stopped before touching Redis: no group was made.
    expect(await apps.redis.exists(redisKeys(apps.prefix).jobs)).toBe(0);
  });
});

describe("a model's load() and close()", () => {
  it.each(['api', 'consumer'] as const)(
    'the %s exits 1 with one line on stderr when load() rejects, before it takes any job',
    async (app) => {
      const file = `${FIXTURES}/model-load-fails.mjs`;
      const env: Record<string, string> =
        app === 'api'
          ? { MODEL_MODULE: file, PORT: String(await freePort()), HOST: '127.0.0.1' }
          : { MODEL_MODULE: file, CONSUMER_NAME: `${apps.prefix}-consumer` };
      const process = start(app, env);
      expect(await process.exited).toBe(1);
      const errors = process.lines.filter((line) => !process.stdout.includes(line));
      expect(errors).toEqual([`foretell ${app}: load() of MODEL_MODULE ${file} failed: weights file is corrupt`]);
      expect(await apps.redis.exists(redisKeys(apps.prefix).jobs)).toBe(0);
    },
  );

  it('both apps load the model before serving it and close it when they stop; a batch-only model answers one input at a time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'foretell-model-lifecycle-'));
    try {
      const logs = { api: join(dir, 'api.log'), consumer: join(dir, 'consumer.log') };
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const model = { MODEL_MODULE: `${FIXTURES}/model-lifecycle.mjs` };
      const api = start('api', { ...model, FIXTURE_LIFECYCLE_LOG: logs.api, PORT: String(port), HOST: '127.0.0.1' });
      const consumer = start('consumer', {
        ...model,
        FIXTURE_LIFECYCLE_LOG: logs.consumer,
        CONSUMER_NAME: `${apps.prefix}-consumer`,
      });
      await waitForLog(consumer, 'consumer started');
      await waitForApi(base, '/ready', () => api.assertRunning());
      expect(await readFile(logs.api, 'utf8')).toBe('load\n');
      expect(await readFile(logs.consumer, 'utf8')).toBe('load\n');

      const client = fetchClient(base);
      const served = await client.post({ input: 'shout' });
      expect([served.status, served.body]).toEqual([200, '{"input":"shout","result":"SHOUT"}']);
      expect(served.headers['foretell-model-name']).toBe('lifecycle');
      expect(served.headers['foretell-model-version']).toBe('2.0.0-rc.1');
      const refused = await client.post({ input: 'fail' });
      expect([refused.status, refused.body]).toEqual([
        500,
        '{"error":"The model failed to make a prediction.","code":"MODEL_FAILED"}',
      ]);
      const id = await client.submit('queued');
      await waitFor(async () => (await client.get(id)).status === 200, {
        what: 'the consumer to run the job',
        unless: () => consumer.assertRunning(),
      });
      expect((await client.get(id)).body).toBe(
        `{"prediction_id":"${id}","output":{"input":"queued","result":"QUEUED"}}`,
      );

      api.child.kill('SIGTERM');
      consumer.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(await consumer.exited).toBe(0);
      expect(await readFile(logs.api, 'utf8')).toBe('load\nclose\n');
      expect(await readFile(logs.consumer, 'utf8')).toBe('load\nclose\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a model module outside the repository', () => {
  it("imports foretell's helpers by name (NonRetryableError from @foretell/shared), in the API and the consumer", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'foretell-outside-model-'));
    try {
      // No node_modules anywhere above it: the import resolves only through the apps' hook.
      const file = join(dir, 'outside.mjs');
      await writeFile(
        file,
        [
          "import { NonRetryableError } from '@foretell/shared';",
          'export function createModel() {',
          "  return { name: 'outside', version: '1', async predict(input) {",
          "    if (input === 'no') throw new NonRetryableError('refused: no');",
          '    return `ok:${input}`;',
          '  } };',
          '}',
          '',
        ].join('\n'),
      );
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const api = start('api', { MODEL_MODULE: file, PORT: String(port), HOST: '127.0.0.1' });
      const consumer = start('consumer', { MODEL_MODULE: file, CONSUMER_NAME: `${apps.prefix}-consumer` });
      await waitForLog(consumer, 'consumer started');
      await waitForApi(base, '/ready', () => api.assertRunning());
      const client = fetchClient(base);

      expect((await client.post({ input: 'yes' })).body).toBe('{"input":"yes","result":"ok:yes"}');
      const id = await client.submit('no');
      await waitFor(async () => (await client.get(id)).status === 500, {
        what: 'the job to fail',
        unless: () => consumer.assertRunning(),
      });
      expect((await client.get(id)).body).toBe(
        `{"error":"Prediction failed.","prediction_id":"${id}","status":"failed","reason":"refused: no"}`,
      );
      // Non-retryable: one attempt, no retry.
      expect(await apps.redis.hget(redisKeys(apps.prefix).job(id), 'attempts')).toBe('1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
