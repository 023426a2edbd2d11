import { randomUUID } from 'node:crypto';
import { redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// MODEL_MODULE as an operator sets it: a path relative to the working directory.
const FIXTURES = 'test/fixtures';

let prefix: string;
let redis: Redis | undefined;
const started: AppProcess[] = [];

beforeEach(() => {
  prefix = `e2e-model-${randomUUID().slice(0, 8)}`;
  redis = new Redis(inject('redisUrl'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.kill()));
  const own = redis;
  redis = undefined;
  if (!own) return;
  const keys = await own.keys(`${prefix}:*`);
  if (keys.length > 0) await own.del(...keys);
  await own.quit();
});

function start(app: 'api' | 'consumer', env: Record<string, string>): AppProcess {
  const process = startApp(app, { REDIS_URL: inject('redisUrl'), KEY_PREFIX: prefix, ...env });
  started.push(process);
  return process;
}

describe('MODEL_MODULE whose createModel() is synchronous', () => {
  it('serves sync predictions in the API and runs async jobs in the consumer', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { MODEL_MODULE: `${FIXTURES}/model-sync.mjs` };
    const api = start('api', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const consumer = start('consumer', { ...env, CONSUMER_NAME: `${prefix}-consumer` });
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
    if (!redis) throw new Error('no redis');
    expect(await redis.hget(redisKeys(prefix).job(id), 'status')).toBe('succeeded');
  });
});

describe('a MODEL_MODULE that does not fit fails the start, with a message saying why', () => {
  const BAD: [what: string, file: string, message: string][] = [
    ['exports no createModel', 'model-no-factory.mjs', 'does not export a createModel function'],
    ['returns no predict method', 'model-no-predict.mjs', 'did not return an object with a predict method'],
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
    const consumer = start('consumer', { MODEL_MODULE: path, CONSUMER_NAME: `${prefix}-consumer` });
    expect(await consumer.exited).toBe(1);
    expect(consumer.stdout).toEqual([]);
    expect(consumer.lines).toHaveLength(1);
    expect(consumer.lines[0]).toMatch(/^foretell consumer: /);
    expect(consumer.lines[0]).toContain(path);
    expect(consumer.lines[0]).toContain(message);
    if (!redis) throw new Error('no redis');
    // It stopped before touching Redis: no group was made.
    expect(await redis.exists(redisKeys(prefix).jobs)).toBe(0);
  });
});
