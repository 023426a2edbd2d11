import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisKeys } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForApi, waitForLog, type AppProcess } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// MODEL_WORKERS: a CPU-bound model (test/fixtures/model-cpu-bound.mjs: its
// input is how many milliseconds it computes, or the file it computes until
// the test creates, without yielding) runs in worker threads, so the
// processes' own event loops stay free.

const CPU_BOUND = 'test/fixtures/model-cpu-bound.mjs';
const apps = useAppsOnPrefix('e2e-workers');

const gateDirs: string[] = [];
afterEach(async () => {
  for (const dir of gateDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A file that does not exist yet: the model's `until <path>` computes until release() creates it. */
async function releaseFile(): Promise<{ path: string; release: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'foretell-cpu-gate-'));
  gateDirs.push(dir);
  const path = join(dir, 'release');
  return { path, release: () => writeFile(path, '') };
}
const start = (app: 'api' | 'consumer', env: Record<string, string>) => apps.start(app, env);

async function startApi(env: Record<string, string>): Promise<{ api: AppProcess; base: string }> {
  const port = await freePort();
  const api = start('api', { MODEL_MODULE: CPU_BOUND, PORT: String(port), HOST: '127.0.0.1', ...env });
  const base = `http://127.0.0.1:${port}`;
  await waitForApi(base, '/health', () => api.assertRunning());
  await waitForLog(api, 'model loaded');
  return { api, base };
}

describe('MODEL_WORKERS in the API', () => {
  it('while every worker computes, /health answers, again and again, before any of them is done', async () => {
    const { api, base } = await startApi({ MODEL_WORKERS: '2', SYNC_TIMEOUT_MS: '60000', LOG_LEVEL: 'debug' });
    const client = fetchClient(base);
    const gate = await releaseFile();
    let finished = 0;
    const computing = [1, 2].map(() =>
      client.post({ input: `until ${gate.path}` }).then((answer) => {
        finished += 1;
        return answer;
      }),
    );
    // Both requests in hand (the API logs each as it comes in, at debug), then
    // twenty sequential probes, all answered while both threads compute until
    // released: run in the process, the first would wait for the computation.
    const received = (line: string) => line.includes('"msg":"incoming request"') && line.includes('"url":"/predict"');
    await waitFor(() => api.lines.filter(received).length >= 2, {
      what: 'the API to receive both requests',
      unless: () => api.assertRunning(),
    });
    const probes: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const response = await fetch(`${base}/health`);
      expect(response.status).toBe(200);
      await response.body?.cancel();
      probes.push(finished);
    }
    expect(probes).toEqual(Array.from({ length: 20 }, () => 0));
    await gate.release();
    const answers = await Promise.all(computing);
    expect(answers.map(({ status }) => status)).toEqual([200, 200]);
    // Two threads, side by side.
    const threads = new Set(answers.map(({ body }) => (JSON.parse(body) as { result: string }).result.split(' ')[1]));
    expect(threads.size).toBe(2);
  });

  it('a sync request that times out frees its worker: the next request is served', async () => {
    const { base } = await startApi({ MODEL_WORKERS: '1', SYNC_TIMEOUT_MS: '2000' });
    const client = fetchClient(base);
    // Ten minutes of computation: only ending its thread frees the worker.
    const stuck = await client.post({ input: '600000' });
    expect([stuck.status, stuck.body]).toEqual([
      504,
      '{"error":"The model did not answer in time.","code":"PREDICTION_TIMEOUT"}',
    ]);
    // The thread that replaces the ended one loads the model first; on a loaded machine (Node 22 starts
    // threads slower here: 12 s for this test alone against 7 s on 20 and 24) that can outlast
    // SYNC_TIMEOUT_MS, so a 504 is asked again. A worker never freed would answer 504 for ten minutes.
    const next = await waitFor(
      async () => {
        const answer = await client.post({ input: '5' });
        return answer.status === 200 ? answer : undefined;
      },
      { what: 'a request served by the freed worker' },
    );
    expect(next.status).toBe(200);
  });

  it('SIGTERM lets the running computation finish, then ends the pool and exits 0', async () => {
    const { api, base } = await startApi({ MODEL_WORKERS: '1', SYNC_TIMEOUT_MS: '60000', LOG_LEVEL: 'debug' });
    const client = fetchClient(base);
    const gate = await releaseFile();
    const running = client.post({ input: `until ${gate.path}` });
    // At debug level the API logs each request as it comes in: this one is in hand.
    await waitFor(
      () => api.lines.some((line) => line.includes('"msg":"incoming request"') && line.includes('"url":"/predict"')),
      { what: 'the API to receive the request', unless: () => api.assertRunning() },
    );
    api.child.kill('SIGTERM');
    // Told to stop while the thread computes: only then is the computation let finish.
    await waitForLog(api, 'waiting for in-flight requests');
    await gate.release();
    const answer = await running;
    expect(answer.status).toBe(200);
    expect(await api.exited).toBe(0);
  });

  it('a load() that rejects in the workers stops the API with one line', async () => {
    const api = start('api', {
      MODEL_MODULE: 'test/fixtures/model-load-fails.mjs',
      MODEL_WORKERS: '1',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
    });
    expect(await api.exited).toBe(1);
    const errors = api.lines.filter((line) => !api.stdout.includes(line));
    expect(errors).toEqual([
      'foretell api: load() of MODEL_MODULE test/fixtures/model-load-fails.mjs failed: weights file is corrupt',
    ]);
  });
});

describe('the copies of the model in worker threads', () => {
  it('are loaded, one per thread, before the apps are ready, and each is closed when they stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'foretell-thread-lifecycle-'));
    try {
      const logs = { api: join(dir, 'api.log'), consumer: join(dir, 'consumer.log') };
      const model = { MODEL_MODULE: 'test/fixtures/model-lifecycle.mjs', MODEL_WORKERS: '2' };
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const api = start('api', { ...model, FIXTURE_LIFECYCLE_LOG: logs.api, PORT: String(port), HOST: '127.0.0.1' });
      const consumer = start('consumer', {
        ...model,
        FIXTURE_LIFECYCLE_LOG: logs.consumer,
        CONSUMER_NAME: `${apps.prefix}-lifecycle`,
      });
      await waitForLog(consumer, 'consumer started');
      await waitForApi(base, '/ready', () => api.assertRunning());
      expect(await readFile(logs.api, 'utf8')).toBe('load\nload\n');
      expect(await readFile(logs.consumer, 'utf8')).toBe('load\nload\n');
      // A copy that served closes too.
      expect((await fetchClient(base).post({ input: 'hi' })).body).toBe('{"input":"hi","result":"HI"}');

      api.child.kill('SIGTERM');
      consumer.child.kill('SIGTERM');
      expect([await api.exited, await consumer.exited]).toEqual([0, 0]);
      expect(await readFile(logs.api, 'utf8')).toBe('load\nload\nclose\nclose\n');
      expect(await readFile(logs.consumer, 'utf8')).toBe('load\nload\nclose\nclose\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('MODEL_WORKERS in the consumer', () => {
  it('runs jobs in its threads, taking no more entries than the threads can start', async () => {
    const consumer = start('consumer', {
      MODEL_MODULE: CPU_BOUND,
      MODEL_WORKERS: '2',
      CONSUMER_NAME: `${apps.prefix}-consumer`,
    });
    const line = await waitForLog(consumer, 'consumer started');
    expect(JSON.parse(line)).toMatchObject({ concurrency: 4 });
    const port = await freePort();
    const api = start('api', { PORT: String(port), HOST: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    await waitForApi(base, '/ready', () => api.assertRunning());
    const client = fetchClient(base);
    // Ten jobs for two threads: at most four of them in hand at a time.
    const ids = await Promise.all(Array.from({ length: 10 }, () => client.submit('200')));
    // Never more than twice the threads taken from the stream at once.
    let mostPending = 0;
    await waitFor(
      async () => {
        const [pending] = (await apps.redis.xpending(redisKeys(apps.prefix).jobs, redisKeys(apps.prefix).group)) as [
          number,
        ];
        mostPending = Math.max(mostPending, pending);
        const answers = await Promise.all(ids.map((id) => client.get(id)));
        return answers.every(({ status }) => status === 200);
      },
      { what: 'every job to succeed', unless: () => consumer.assertRunning(), intervalMs: 20 },
    );
    expect(mostPending).toBeLessThanOrEqual(4);
  });
});

describe('a batch model in worker threads', () => {
  it('gathers sync requests into batches run in a thread, each input with its own result or error', async () => {
    const { base } = await startApi({
      MODEL_MODULE: 'test/fixtures/model-lifecycle.mjs',
      MODEL_WORKERS: '1',
      // The fixture's load() and close() write here: a thread's copy loads too.
      FIXTURE_LIFECYCLE_LOG: '/dev/null',
    });
    const client = fetchClient(base);
    const answers = await Promise.all(['shout', 'fail', 'quiet'].map((input) => client.post({ input })));
    expect(answers.map(({ status, body }) => [status, body])).toEqual([
      [200, '{"input":"shout","result":"SHOUT"}'],
      [500, '{"error":"The model failed to make a prediction.","code":"MODEL_FAILED"}'],
      [200, '{"input":"quiet","result":"QUIET"}'],
    ]);
    expect(answers[0]?.headers['foretell-model-name']).toBe('lifecycle');
  });
});
