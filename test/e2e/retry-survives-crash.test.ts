import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { testRedis, type TestRedis } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

// The README's claim, with the real processes: a job waiting for a retry (on
// `{prefix}:retries`, acked, holding no stream entry) survives a consumer
// killed with SIGKILL, and a new consumer runs it to success.

const MODEL_MODULE = fileURLToPath(new URL('../fixtures/consumer-failing-model.mjs', import.meta.url));
const FAILURE = 'fixture model: down on purpose';

const processes: AppProcess[] = [];
let redis: TestRedis | undefined;

afterEach(async () => {
  await Promise.all(processes.splice(0).map((app) => app.kill()));
  await redis?.cleanup();
  redis = undefined;
});

function start(app: 'api' | 'consumer', env: Record<string, string>): AppProcess {
  const started = startApp(app, env);
  processes.push(started);
  return started;
}

/** For waitFor's `unless`: a process that died ends the wait at once, with what it printed. */
function stillRunning(app: AppProcess): () => void {
  return () => {
    if (app.child.exitCode !== null || app.child.signalCode !== null) {
      throw new Error(`the process exited:\n${app.lines.join('\n')}`);
    }
  };
}

async function pendingCount(t: TestRedis): Promise<number> {
  const [count] = (await t.redis.xpending(t.keys.jobs, t.keys.group)) as [number];
  return count;
}

describe('retries and crashes', { timeout: 120_000 }, () => {
  it('a job waiting for a retry survives a consumer crash (SIGKILL); a new consumer runs it to success', async () => {
    const t = (redis = testRedis());
    const { keys } = t;
    const common = { REDIS_URL: t.url, KEY_PREFIX: t.prefix, MODEL_MODULE };
    // Its model fails every call, and the first retry is due 5 to 10 minutes after the
    // failure: the kill below lands while the job waits, however slow the machine.
    const doomed = start('consumer', {
      ...common,
      FIXTURE_MODEL_FAILS: 'true',
      RETRY_BASE_DELAY_MS: '600000',
      RETRY_MAX_DELAY_MS: '600000',
    });
    await waitForLog(doomed, 'consumer started');
    const port = await freePort();
    const api = start('api', { ...common, PORT: String(port), HOST: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    await waitForApi(base, '/ready', stillRunning(api));
    const client = fetchClient(base);
    const id = await client.submit('survive the crash');

    const due = await waitFor(() => t.redis.zscore(keys.retries, id), { what: 'retry scheduled' });
    expect(await t.redis.hgetall(keys.job(id))).toMatchObject({ status: 'queued', attempts: '1', reason: FAILURE });
    const waiting = await client.get(id);
    expect([waiting.status, waiting.body]).toEqual([400, '{"error":"Prediction is still being processed."}']);

    await doomed.kill();
    expect(await doomed.exited).toBe('SIGKILL');
    // Nothing the crash could lose: the job waits in Redis, with no stream entry nor delivery in hand.
    expect(await t.redis.zscore(keys.retries, id)).toBe(due);
    expect(await t.redis.hget(keys.job(id), 'status')).toBe('queued');
    expect(await t.redis.xlen(keys.jobs)).toBe(0);
    expect(await pendingCount(t)).toBe(0);

    const successor = start('consumer', common);
    await waitForLog(successor, 'consumer started');
    // The delay is not waited out: the test makes the retry due now, as time would.
    expect(await t.redis.zadd(keys.retries, 'XX', 'CH', Date.now(), id)).toBe(1);
    await waitFor(async () => (await t.redis.hget(keys.job(id), 'status')) === 'succeeded', {
      timeoutMs: 15_000,
      what: 'the retry run to success by the new consumer',
      unless: stillRunning(successor),
    });

    expect(await t.redis.hgetall(keys.job(id))).toMatchObject({
      status: 'succeeded',
      input: 'survive the crash',
      result: 'recovered: survive the crash',
      attempts: '2',
    });
    const answer = await client.get(id);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      prediction_id: id,
      output: { input: 'survive the crash', result: 'recovered: survive the crash' },
    });
    expect(await t.redis.zcard(keys.retries)).toBe(0);
    expect(await t.redis.xlen(keys.jobs)).toBe(0);
    expect(await pendingCount(t)).toBe(0);
    expect(await t.redis.exists(keys.dead)).toBe(0);
  });
});
