// The README's curl examples, run as written (through `sh`, with the host
// rewritten to the test's own processes) against the built API and consumer
// on a real redis-server, each answer compared with the one the README shows.
// Every situation an answer needs (a job still running, finished, failed,
// Redis unreachable) is set up first and held, never raced: the consumer's
// model is gated on Redis (test/fixtures/e2e-gated-model.mjs) and released
// only once the test has seen what it waits for.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import {
  answerDifferences,
  outputDifferences,
  PlaceholderBindings,
  readmeExamples,
  type ReadmeExample,
} from '../support/readme-examples.js';
import {
  startDocService,
  unreachableRedis,
  type DocService,
  type UnreachableRedis,
} from '../support/readme-services.js';
import { curlShell, type CurlShell, type ShellRun } from '../support/readme-shell.js';
import { testRedis, type TestRedis } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const FAILING_MODEL = fileURLToPath(new URL('../fixtures/consumer-failing-model.mjs', import.meta.url));
const SAMPLE_INPUT = 'Sample input data for the model';
// Like `openssl rand -base64 33`, as the README suggests.
const KEY_TEAM_A = randomBytes(33).toString('base64');
// Webhooks on for the main service (its API only checks targets; nothing is sent in this test).
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY_TEAM_B = randomBytes(33).toString('base64');

const parsed = (() => {
  try {
    return { examples: readmeExamples(README), error: undefined };
  } catch (error) {
    return { examples: [] as ReadmeExample[], error: error as Error };
  }
})();

let t: TestRedis | undefined;
let noRedis: UnreachableRedis | undefined;
let shell: CurlShell | undefined;
let gate: ModelGate | undefined;
const services: Partial<Record<'main' | 'keys' | 'failing' | 'noRedis' | 'sentiment', DocService>> = {};

function service(name: keyof typeof services): DocService {
  const found = services[name];
  if (!found) throw new Error(`beforeAll did not start the ${name} service`);
  return found;
}

beforeAll(async () => {
  const redis = testRedis();
  t = redis;
  shell = await curlShell();
  const mainPrefix = `docs-${randomUUID().slice(0, 8)}`;
  gate = modelGate(redis.redis, mainPrefix);
  const common = { redis: redis.redis, redisUrl: redis.url };
  noRedis = await unreachableRedis();
  // Started together; each one that started is kept for afterAll, even if another failed.
  const started = await Promise.allSettled(
    (
      [
        // What `npm start` runs, with the consumer's model held until the test releases it.
        // Webhooks on, to any address (a receiver on this machine); its consumer has no secret: nothing is sent.
        [
          'main',
          {
            ...common,
            prefix: mainPrefix,
            api: { WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' },
            consumer: gate.env,
            waitReady: true,
          },
        ],
        // API keys on, no consumer: a job stays queued; /ready has no group to find.
        ['keys', { ...common, api: { API_KEYS: `${KEY_TEAM_A},${KEY_TEAM_B}` } }],
        // Every model call fails (retryable), and one attempt is all a job gets.
        [
          'failing',
          {
            ...common,
            consumer: { MODEL_MODULE: FAILING_MODEL, FIXTURE_MODEL_FAILS: 'true', MAX_ATTEMPTS: '1' },
            waitReady: true,
          },
        ],
        ['noRedis', { ...common, redisUrl: noRedis.url }],
        // The example model, in a worker thread in each app, as the README starts it (auto: one per core).
        [
          'sentiment',
          {
            ...common,
            api: { MODEL_MODULE: '@foretell/sentiment-model', MODEL_WORKERS: '1' },
            consumer: { MODEL_MODULE: '@foretell/sentiment-model', MODEL_WORKERS: '1' },
            waitReady: true,
          },
        ],
      ] as const
    ).map(async ([name, options]) => {
      services[name] = await startDocService(options);
    }),
  );
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  // Six processes start at once on a busy machine.
}, 90_000);

afterAll(async () => {
  try {
    await Promise.all(Object.values(services).map((running) => running.stop()));
  } finally {
    await shell?.dispose();
    await noRedis?.close();
    await t?.cleanup();
  }
}, 60_000);

// Calls of the gated model released so far; each held call takes one token, oldest first.
let released = 0;

/** Lets every model call held now answer. */
async function releaseHeld(): Promise<void> {
  if (!gate) throw new Error('beforeAll failed');
  const held = await gate.held(0);
  if (held.length > released) {
    await gate.release(held.length - released);
    released = held.length;
  }
}

interface Scene {
  /** The service the commands' `localhost:8080` stands for. */
  readonly service: keyof typeof services;
  /** Sets the situation up; resolves with the commands' environment (`$ID`, API keys). */
  prepare?(target: DocService): Promise<Record<string, string>>;
  /** Runs while the commands do. */
  during?(run: ShellRun, target: DocService): Promise<void>;
}

const SCENES: Record<string, Scene> = {
  main: { service: 'main' },
  'quick-start': {
    service: 'main',
    // "Still processing" must be seen before the model may answer; then every held call is let go until the poll ends.
    async during(run, target) {
      const unless = () => {
        run.assertRunning();
        target.running();
      };
      await waitFor(() => run.exchanges().some((exchange) => exchange.method === 'GET' && exchange.status === 400), {
        timeoutMs: 15_000,
        what: 'the poll to see "still being processed"',
        unless,
      });
      await waitFor(
        async () => {
          await releaseHeld();
          return run.hasExited();
        },
        { timeoutMs: 20_000, what: 'the poll to end', unless: target.running },
      );
    },
  },
  'get-running': {
    service: 'main',
    // Nothing releases the model until a later scene: the job stays queued or running.
    prepare: async (target) => ({ ID: await target.client.submit(SAMPLE_INPUT) }),
  },
  'get-finished': {
    service: 'main',
    async prepare(target) {
      const id = await target.client.submit(SAMPLE_INPUT);
      await waitFor(
        async () => {
          await releaseHeld();
          return (await target.client.get(id)).status === 200;
        },
        { timeoutMs: 20_000, what: `job ${id} finished`, unless: target.running },
      );
      return { ID: id };
    },
  },
  'get-failed': {
    service: 'failing',
    async prepare(target) {
      const id = await target.client.submit(SAMPLE_INPUT);
      await waitFor(async () => (await target.client.get(id)).status === 500, {
        timeoutMs: 20_000,
        what: `job ${id} failed`,
        unless: target.running,
      });
      return { ID: id };
    },
  },
  'cancel-running': {
    service: 'main',
    async prepare(target) {
      if (!gate) throw new Error('beforeAll failed');
      const before = (await gate.held(0)).length;
      const id = await target.client.submit(SAMPLE_INPUT);
      await gate.held(before + 1, { unless: target.running });
      // Its held call ends by the cancel, not by a token: none is to be pushed for it.
      released += 1;
      return { ID: id };
    },
  },
  'get-unknown': { service: 'main', prepare: async () => ({ ID: randomUUID() }) },
  metrics: { service: 'main' },
  webhooks: { service: 'main' },
  'request-id': { service: 'main' },
  sentiment: { service: 'sentiment' },
  'sentiment-job': {
    service: 'sentiment',
    async prepare(target) {
      // The client sends a JSON body whatever `input` is: here the model's object.
      const id = await target.client.submit({ text: 'This is not good.' } as unknown as string);
      await waitFor(async () => (await target.client.get(id)).status === 200, {
        timeoutMs: 20_000,
        what: `job ${id} finished`,
        unless: target.running,
      });
      return { ID: id };
    },
  },
  'get-redis-down': { service: 'noRedis', prepare: async () => ({ ID: randomUUID() }) },
  'ready-no-consumer': { service: 'keys' },
  keys: { service: 'keys', prepare: async () => ({ KEY_TEAM_A, KEY_TEAM_B }) },
  'keys-job-running': {
    service: 'keys',
    prepare: async (target) => ({
      KEY_TEAM_A,
      KEY_TEAM_B,
      ID: await target.client.submit(SAMPLE_INPUT, { authorization: `Bearer ${KEY_TEAM_A}` }),
    }),
  },
};

describe("the README's examples", () => {
  it('parse: each curl block is followed by the answers it gets, each naming its situation', () => {
    expect(parsed.error?.message).toBeUndefined();
    expect(parsed.examples.length).toBeGreaterThan(10);
    expect([...new Set(parsed.examples.map((example) => example.scene))].sort()).toEqual(Object.keys(SCENES).sort());
  });

  it.each(parsed.examples.map((example) => [`README.md:${example.line} (${example.scene})`, example] as const))(
    '%s answers as shown',
    async (_, example) => {
      const scene = SCENES[example.scene];
      if (!scene || !shell) throw new Error(`no scene ${example.scene}, or beforeAll failed`);
      const target = service(scene.service);
      expect(example.commands, 'the commands name the API as npm start serves it').toContain('localhost:8080');
      const env = (await scene.prepare?.(target)) ?? {};
      const run = shell.run(example.commands.replaceAll('localhost:8080', `127.0.0.1:${target.port}`), env);
      try {
        await scene.during?.(run, target);
        await waitFor(() => run.hasExited(), {
          timeoutMs: 20_000,
          what: 'the commands to end',
          unless: target.running,
        });
      } finally {
        run.kill();
      }
      const { code, stdout, stderr } = await run.done;
      expect(code, stderr).toBe(0);
      const ids = new PlaceholderBindings(env.ID);
      if (example.shown.kind === 'output') {
        expect(outputDifferences(example.shown.text, stdout, ids)).toEqual([]);
        return;
      }
      const exchanges = run.exchanges();
      expect(exchanges.length, 'one answer shown per curl run').toBe(example.shown.answers.length);
      const differences = example.shown.answers.flatMap((answer, index) => {
        const real = exchanges[index];
        return real ? answerDifferences(answer, real, ids).map((line) => `answer ${index + 1}: ${line}`) : [];
      });
      expect(differences).toEqual([]);
    },
  );
});
