import {
  createMockModel,
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  type JobTrace,
  type Model,
  type Tracing,
} from '@foretell/shared';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { createConsumer, readerConnectionName, type Consumer, type ConsumerSettings } from '../src/stream-consumer.js';
import { logCommandsOn, type CommandLog } from '../../../test/support/command-log.js';
import type { HeldModel } from '../../../test/support/held-model.js';

const SETTINGS: Omit<ConsumerSettings, 'name'> = {
  concurrency: 16,
  blockMs: 200,
  resultTtlSeconds: 3600,
  shutdownGraceMs: 5000,
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
  claimIdleMs: 60_000,
  removeIdleConsumersAfterMs: 3_600_000,
  deadLetterMaxLength: 10_000,
};

/**
 * `label` with a random suffix. Test files share one redis-server and run two
 * at a time: a consumer name (and the reader connection named after it) must
 * not be another file's.
 */
export function uniqueName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** One line the consumer logged, parsed. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string };

/** A connection subscribed to one channel. */
export interface Subscription {
  /** Messages received so far, in order. */
  readonly messages: readonly string[];
  /**
   * Resolves once every message published before the call has arrived: Redis
   * answers a PING on the subscribed connection after the messages queued on it.
   */
  settled(): Promise<void>;
}

export interface Harness extends TestRedis {
  readonly consumer: Consumer;
  /** The consumer's name in the group: unique unless the test chose one. */
  readonly name: string;
  /** The client name of the consumer's blocking reader connection. */
  readonly readerName: string;
  /** What the consumer logged (info and above), in order. */
  readonly logs: readonly LogLine[];
  /** Writes a job as the API does, with its script: hash with TTL and stream entry. */
  enqueue(input: string, ttlSeconds?: number, trace?: JobTrace): Promise<string>;
  /** Subscribes a connection of its own to `channel`; the harness closes it. */
  subscribe(channel: string): Promise<Subscription>;
  /** Logs the commands Redis runs on `key` (MONITOR); the harness stops it. */
  logCommands(key: string): Promise<CommandLog>;
  /** The connection whose client name is `name`, as CLIENT LIST shows it; undefined if there is none. */
  client(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /**
   * Lets a held model answer, closes the consumer and every connection the
   * test opened through the harness; Redis keys are kept.
   */
  stop(): Promise<void>;
}

/** A real consumer on a fresh key prefix of the run's redis-server. */
export interface HarnessOptions {
  model?: Model;
  settings?: Partial<ConsumerSettings>;
  /** Another harness's prefix, for several consumers in one group. */
  prefix?: string;
  /**
   * A URL that leads to the run's Redis another way (a relay): the consumer
   * then gets connections of its own there, and the test's `redis` stays direct.
   */
  connectVia?: string;
  /** Spans of each job and of its script calls (the model is traced only if the test wraps it). */
  tracing?: Tracing;
}

async function clientNamed(redis: Redis, name: string): Promise<Record<string, string> | undefined> {
  const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(
      line
        .trim()
        .split(' ')
        .map((pair) => {
          const at = pair.indexOf('=');
          return [pair.slice(0, at), pair.slice(at + 1)];
        }),
    ) as Record<string, string>;
    if (fields.name === name) return fields;
  }
  return undefined;
}

function createHarness(options: HarnessOptions): Harness {
  const t = testRedis(options.prefix);
  const settings = { name: uniqueName('test-consumer'), ...SETTINGS, ...options.settings };
  const logs: LogLine[] = [];
  const own = options.connectVia === undefined ? undefined : new Redis(options.connectVia, { maxRetriesPerRequest: 1 });
  own?.on('error', () => undefined);
  const consumer = createConsumer({
    redis: own ?? t.redis,
    model: options.model ?? createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    keys: t.keys,
    log: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    settings,
    ...(options.tracing && { tracing: options.tracing }),
  });
  const closers: (() => Promise<unknown>)[] = [];
  const closeOwn = async () => {
    await own?.quit().catch(() => own.disconnect());
  };
  return {
    ...t,
    consumer,
    name: settings.name,
    readerName: readerConnectionName(t.keys, settings.name),
    logs,
    async enqueue(input, ttlSeconds = 3600, trace) {
      const id = randomUUID();
      const call = { id, input, ttlSeconds, maxQueueLength: 0, maxQueueBytes: 0, ...(trace && { trace }) };
      await t.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(t.keys, call));
      return id;
    },
    async subscribe(channel) {
      const subscriber = t.redis.duplicate();
      closers.push(() => subscriber.quit().catch(() => subscriber.disconnect()));
      const messages: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => messages.push(message));
      await subscriber.subscribe(channel);
      return { messages, settled: async () => void (await subscriber.ping()) };
    },
    async logCommands(key) {
      const log = logCommandsOn(t.redis, key);
      closers.push(async () => log.close());
      await log.ready;
      return log;
    },
    client: (name) => clientNamed(t.redis, name),
    async stop() {
      // A model still holding calls would keep the drain waiting out its grace period.
      const model = options.model as Partial<HeldModel> | undefined;
      model?.releaseAll?.();
      const results = await Promise.allSettled([
        consumer.close().finally(closeOwn),
        ...closers.splice(0).map((close) => close()),
      ]);
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}

/**
 * The harnesses of the running test. `disposeAll` (for afterEach) stops every
 * consumer first and only then deletes the keys, so that no consumer still
 * running recreates what another's cleanup deleted; it takes only the
 * harnesses created since its last call, never an earlier test's.
 */
export function harnessPool() {
  const created: Harness[] = [];
  return {
    create(options: HarnessOptions = {}): Harness {
      const harness = createHarness(options);
      created.push(harness);
      return harness;
    },
    async disposeAll(): Promise<void> {
      const mine = created.splice(0);
      const stopped = await Promise.allSettled(mine.map((harness) => harness.stop()));
      await Promise.all(mine.map((harness) => harness.cleanup()));
      const failure = stopped.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
