import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mockResult, redisKeys, type RedisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { FAILING_MODEL_REASON } from '../fixtures/e2e-failing-model.mjs';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { fetchClient, type PredictClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const FAILING_MODEL = fileURLToPath(new URL('../fixtures/e2e-failing-model.mjs', import.meta.url));

/** The real processes, as `npm start` runs them: the built API and one consumer on the run's redis-server. */
interface Service {
  readonly prefix: string;
  readonly keys: RedisKeys;
  readonly redis: Redis;
  readonly api: AppProcess;
  readonly consumer: AppProcess;
  readonly client: PredictClient;
  /** For `unless`: throws as soon as either process is gone. */
  readonly bothRunning: () => void;
  stop(): Promise<void>;
}

async function startService(modelEnv: (redis: Redis, prefix: string) => Record<string, string>): Promise<Service> {
  const prefix = `e2e-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(inject('redisUrl'));
  const port = await freePort();
  const env = { REDIS_URL: inject('redisUrl'), KEY_PREFIX: prefix, ...modelEnv(redis, prefix) };
  const api = startApp('api', { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const consumer = startApp('consumer', { ...env, CONSUMER_NAME: `${prefix}-consumer` });
  const service: Service = {
    prefix,
    keys: redisKeys(prefix),
    redis,
    api,
    consumer,
    client: fetchClient(`http://127.0.0.1:${port}`),
    bothRunning: () => {
      api.assertRunning();
      consumer.assertRunning();
    },
    async stop() {
      await Promise.all([api.kill(), consumer.kill()]);
      const found = await redis.keys(`${prefix}:*`);
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
    },
  };
  try {
    await waitForApi(`http://127.0.0.1:${port}`, '/ready', service.bothRunning);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/** Polls `GET /predict/{id}` until it is no longer "still processing", and returns that answer. */
function settled(service: Service, id: string) {
  return waitFor(
    async () => {
      const response = await service.client.get(id);
      return response.status === 400 ? undefined : response;
    },
    { timeoutMs: 20_000, what: `job ${id} to settle`, unless: service.bothRunning },
  ).catch((error: unknown) => {
    const tail = service.consumer.lines.slice(-20).join('\n');
    throw new Error(`${(error as Error).message}; the consumer's last lines:\n${tail}`, { cause: error });
  });
}

describe('the real api and consumer processes', () => {
  let service: Service | undefined;
  let gate: ModelGate;
  const running = (): Service => {
    if (!service) throw new Error('the service did not start');
    return service;
  };

  beforeAll(async () => {
    service = await startService((redis, prefix) => {
      gate = modelGate(redis, prefix);
      return { ...gate.env };
    });
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('run async jobs: 400 "still processing" while the model is held, then 200 with the sync result', async () => {
    const s = running();
    const inputs = ['first', 'second', 'third', 'fourth', 'fifth'];
    const ids = await Promise.all(inputs.map((input) => s.client.submit(input)));

    // Every job is in the model, which answers none until released: each is unfinished, for certain.
    const held = await gate.held(inputs.length, { unless: s.bothRunning });
    expect([...held].sort()).toEqual([...inputs].sort());
    for (const id of ids) {
      const pending = await s.client.get(id);
      expect(pending.status).toBe(400);
      expect(pending.headers['retry-after']).toBe('1');
      expect(pending.body).toBe('{"error":"Prediction is still being processed."}');
      expect(await s.redis.hget(s.keys.job(id), 'status')).toBe('processing');
    }

    await gate.release(inputs.length);
    for (const [i, id] of ids.entries()) {
      const done = await settled(s, id);
      const input = inputs[i] ?? '';
      expect(done.status).toBe(200);
      expect(done.body).toBe(`{"prediction_id":"${id}","output":{"input":"${input}","result":"${mockResult(input)}"}}`);
    }

    // The sync path waits for the model too, and gives the same result for the same input.
    const sync = s.client.post({ input: 'first' });
    expect(await gate.held(inputs.length + 1, { unless: s.bothRunning })).toHaveLength(inputs.length + 1);
    await gate.release(1);
    const answer = await sync;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`{"input":"first","result":"${mockResult('first')}"}`);

    // The queue is empty and nothing is pending.
    expect(await s.redis.xlen(s.keys.jobs)).toBe(0);
    const [pending] = (await s.redis.xpending(s.keys.jobs, s.keys.group)) as [number];
    expect(pending).toBe(0);
  });

  it('answers 404 for an unknown id, and both log JSON lines with level, time, service and msg', async () => {
    const s = running();
    const response = await s.client.get('abc123');
    expect(response.status).toBe(404);
    expect(response.body).toBe('{"error":"Prediction ID not found."}');

    await waitForLog(s.consumer, 'consumer started');
    for (const [app, service] of [
      [s.api, 'api'],
      [s.consumer, 'consumer'],
    ] as const) {
      // Shapes, not values, so that one bad line shows as itself in the diff.
      const shapes = app.stdout.map((line) => {
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          return {
            level: typeof record.level,
            time: typeof record.time,
            service: record.service,
            msg: typeof record.msg,
          };
        } catch {
          return `not JSON: ${line}`;
        }
      });
      expect(shapes.length).toBeGreaterThan(0);
      expect(shapes).toEqual(shapes.map(() => ({ level: 'number', time: 'number', service, msg: 'string' })));
      // Nothing else was printed: no line on stderr.
      expect(app.lines).toEqual(app.stdout);
    }
    expect(s.consumer.stdout.map((line) => (JSON.parse(line) as { msg: string }).msg)).toContain('consumer started');
  });
});

describe('a job whose model fails for good, through the real processes', () => {
  let service: Service | undefined;

  beforeAll(async () => {
    service = await startService(() => ({ MODEL_MODULE: FAILING_MODEL }));
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('GET answers 500 with the failed body: error, id, status and the reason the model gave', async () => {
    if (!service) throw new Error('the service did not start');
    const id = await service.client.submit('doomed');
    const answer = await settled(service, id);
    expect(answer.status).toBe(500);
    expect(answer.body).toBe(
      `{"error":"Prediction failed.","prediction_id":"${id}","status":"failed","reason":"${FAILING_MODEL_REASON}"}`,
    );
    // A non-retryable error: one attempt, then the dead-letter stream.
    expect(await service.redis.hget(service.keys.job(id), 'attempts')).toBe('1');
    expect(await service.redis.xlen(service.keys.dead)).toBe(1);
  });
});
