import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_KEY_PREFIX, mockResult, redisKeys } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isPortTaken } from '../../scripts/lib/local-redis.mjs';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { fetchClient, type PredictClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// `npm start` itself: installs (already installed here), builds, starts its own
// redis-server with AOF, the API and a consumer; Ctrl-C stops all of it. This
// file runs alone, after every other one (vitest.config.ts), because the build
// rewrites the `dist` the other end-to-end files run.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Set in the environment of `npm start`, which every process it starts inherits. */
const TAG = 'FORETELL_NPM_START_TEST';

/**
 * The processes whose environment carries `tag`: all that one `npm start`
 * started, even those that left its process group (the apps and Redis get
 * their own) or outlived their parent.
 */
function processesTagged(tag: string): number[] {
  const marker = `${TAG}=${tag}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

interface NpmStart {
  readonly base: string;
  readonly client: PredictClient;
  /** The local Redis it started, for the test's own look. */
  readonly redis: Redis;
  readonly redisPort: number;
  readonly dataDir: string;
  readonly gate: ModelGate;
  readonly exited: Promise<number | string>;
  output(): string;
  /** Throws, with the output so far, if `npm start` has ended. */
  readonly assertRunning: () => void;
  /** Ctrl-C in its terminal: SIGINT to its whole process group. */
  pressCtrlC(): void;
  /** Waits until the output shows `text`. */
  waitForOutput(text: string): Promise<void>;
  /** The processes it started that are still alive. */
  alive(): number[];
}

const runs: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const dispose of runs.splice(0)) await dispose();
});

/** `npm start` in its own process group, as in a terminal, with the gated model, once the API is ready. */
async function npmStart(): Promise<NpmStart> {
  const [port, redisPort] = [await freePort(), await freePort()];
  const dataDir = await mkdtemp(join(tmpdir(), 'foretell-start-'));
  const tag = randomUUID();
  const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const gate = modelGate(redis, 'e2e-npm-start');
  const runner = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      [TAG]: tag,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: dataDir,
      ...gate.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  runner.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  runner.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let ended: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    runner.once('close', (code, signal) => resolve((ended = code ?? signal ?? 'unknown'))),
  );
  const assertRunning = () => {
    if (ended !== undefined) throw new Error(`npm start ended (${ended}); its output:\n${output}`);
  };
  runs.push(async () => {
    // Whatever is still running, wherever it is: by PID, never by name.
    for (const pid of processesTagged(tag)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitFor(() => processesTagged(tag).length === 0, { what: 'every process of npm start gone' });
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });

  const base = `http://127.0.0.1:${port}`;
  const client = fetchClient(base);
  // Installing and building take a while on a busy machine.
  await waitFor(
    async () => (await client.send({ method: 'GET', url: '/ready' }).catch(() => undefined))?.status === 200,
    { timeoutMs: 280_000, intervalMs: 250, what: 'the service to be ready', unless: assertRunning },
  ).catch((error: unknown) => {
    // A timeout says nothing of why: add what it printed (an early exit already has it).
    if (ended !== undefined) throw error;
    throw new Error(`${(error as Error).message}; output so far:\n${output}`, { cause: error });
  });
  await redis.connect();
  return {
    base,
    client,
    redis,
    redisPort,
    dataDir,
    gate,
    exited,
    output: () => output,
    assertRunning,
    pressCtrlC: () => process.kill(-(runner.pid ?? 0), 'SIGINT'),
    waitForOutput: async (text) => {
      await waitFor(() => output.includes(text), {
        timeoutMs: 15_000,
        what: `"${text}" in the output`,
        unless: () => {
          if (!output.includes(text)) assertRunning();
        },
      });
    },
    alive: () => processesTagged(tag),
  };
}

describe('npm start', () => {
  it(
    'runs the whole service on a local Redis; Ctrl-C drains the job in hand, then stops all of it',
    { timeout: 420_000 },
    async () => {
      const run = await npmStart();
      const first = await run.client.submit('from npm start');
      await run.gate.release(1);
      const done = await waitFor(
        async () => {
          const response = await run.client.get(first);
          return response.status === 400 ? undefined : response;
        },
        { unless: run.assertRunning, what: 'the first job' },
      );
      expect(done.status).toBe(200);
      expect(done.body).toBe(
        `{"prediction_id":"${first}","output":{"input":"from npm start","result":"${mockResult('from npm start')}"}}`,
      );
      expect(run.output()).toMatch(/api\s+│/);
      expect(run.output()).toMatch(/consumer│/);
      expect(run.output()).toMatch(/redis\s+│/);
      expect(await readdir(run.dataDir)).toContain('appendonlydir');
      expect(await isPortTaken(run.redisPort)).toBe(true);

      // A job in the model when Ctrl-C comes: the consumer finishes it before anything stops.
      const announced: string[] = [];
      // Without retries, so that it ends when Redis stops, after every message it sent was read.
      const subscriber = run.redis.duplicate({ retryStrategy: () => null });
      subscriber.on('message', (_channel: string, id: string) => announced.push(id));
      await subscriber.subscribe(redisKeys(DEFAULT_KEY_PREFIX).done);
      const second = await run.client.submit('in hand at Ctrl-C');
      await run.gate.held(2, { unless: run.assertRunning });
      run.pressCtrlC();
      await run.waitForOutput('draining jobs in hand');
      await run.gate.release(1);

      // npm itself ends by the signal, as it does in a terminal; the runner drains and exits 0.
      expect([0, 'SIGINT']).toContain(await run.exited);
      await waitFor(() => subscriber.status === 'end', { what: 'the subscriber to see Redis stop' });
      expect(announced).toEqual([second]);
      const output = run.output();
      expect(output).not.toContain('second signal');
      expect(output.indexOf('consumer stopped')).toBeGreaterThan(output.indexOf('draining jobs in hand'));
      // Redis stops last, after the apps.
      expect(output.indexOf('bye bye')).toBeGreaterThan(output.indexOf('consumer stopped'));
      // Nothing is left running or listening.
      expect(run.alive()).toEqual([]);
      await expect(fetch(`${run.base}/health`)).rejects.toThrow();
      expect(await isPortTaken(run.redisPort)).toBe(false);
    },
  );

  it('a second Ctrl-C while it drains kills everything at once', { timeout: 420_000 }, async () => {
    const run = await npmStart();
    await run.client.submit('never finished');
    await run.gate.held(1, { unless: run.assertRunning });
    run.pressCtrlC();
    await run.waitForOutput('draining jobs in hand');
    run.pressCtrlC();

    // The model is still held, so only the kill can end the consumer; npm ends by the signal it forwarded.
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain('second signal: killing everything now');
    expect(run.output()).not.toContain('consumer stopped');
    await waitFor(() => run.alive().length === 0, { what: 'every process of npm start gone' });
    await expect(fetch(`${run.base}/health`)).rejects.toThrow();
    expect(await isPortTaken(run.redisPort)).toBe(false);
  });
});
