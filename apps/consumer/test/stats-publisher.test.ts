import {
  createMetricsRegistry,
  createMockModel,
  decodeStatsSnapshot,
  NonRetryableError,
  timedModel,
  type ConsumerStatsSnapshot,
  type Model,
} from '@foretell/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';
import { createStatsPublisher, type StatsPublisher } from '../src/stats-publisher.js';

const harnesses = harnessPool();
const publishers: StatsPublisher[] = [];

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
  await harnesses.disposeAll();
});

const mock = createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 });
/** The mock model, except that an input starting with "fail" fails for good. */
const failingOnRequest: Model = {
  ...mock,
  async predict(input, options) {
    if (input.startsWith('fail')) throw new NonRetryableError('refused on purpose');
    return mock.predict(input, options);
  },
};

/** A consumer whose model is timed into its own registry, and a publisher of its counts. */
function publishing(options: { intervalMs: number; keepaliveMs: number }): {
  h: Harness;
  publisher: StatsPublisher;
  snapshot: () => Promise<ConsumerStatsSnapshot | undefined>;
} {
  const registry = createMetricsRegistry({ processMetrics: false });
  const h = harnesses.create({ model: timedModel(failingOnRequest, registry) });
  const publisher = createStatsPublisher({
    redis: h.redis,
    keys: h.keys,
    name: h.name,
    consumer: h.consumer,
    registry,
    log: pino({ level: 'silent' }),
    ...options,
  });
  publishers.push(publisher);
  const snapshot = async () => {
    const text = await h.redis.hget(h.keys.stats, h.name);
    return text === null ? undefined : decodeStatsSnapshot(text);
  };
  return { h, publisher, snapshot };
}

describe("the consumer's stats snapshot (for the API's dashboard)", () => {
  it('writes its cumulative job counts and model histogram into its field of the stats hash', async () => {
    const { h, publisher, snapshot } = publishing({ intervalMs: 50, keepaliveMs: 60_000 });
    await h.consumer.start();
    const before = Date.now();
    publisher.start();
    const first = await waitFor(snapshot, { what: 'a first snapshot' });
    expect(first).toEqual({
      v: 1,
      at: expect.any(Number) as number,
      started: expect.any(Number) as number,
      inFlight: 0,
      jobs: { succeeded: 0, failed: 0, retried: 0, reclaimed: 0, expired: 0, poison: 0 },
      model: {
        bounds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60],
        counts: new Array<number>(16).fill(0),
        sum: 0,
      },
    });
    expect(first.started).toBeLessThanOrEqual(before);
    expect(first.at).toBeGreaterThanOrEqual(before);

    await Promise.all(['a', 'b', 'c', 'fail d'].map((input) => h.enqueue(input)));
    const after = await waitFor(
      async () => {
        const found = await snapshot();
        return found && found.jobs.succeeded === 3 && found.jobs.failed === 1 ? found : undefined;
      },
      { what: 'the four jobs counted' },
    );
    // Four calls of the model, each under a second here: the last buckets count all four.
    expect(after.model.counts.at(-1)).toBe(4);
    expect(after.model.counts[after.model.bounds.indexOf(1)]).toBe(4);
    expect(after.started).toBe(first.started);
    expect(after.at).toBeGreaterThanOrEqual(first.at);
    // One field, named after the consumer, and nothing else in the hash.
    expect(await h.redis.hkeys(h.keys.stats)).toEqual([h.name]);
  });

  it('writes an unchanged snapshot again only at the keepalive, and a last one when closed', async () => {
    const { h, publisher, snapshot } = publishing({ intervalMs: 20, keepaliveMs: 400 });
    await h.consumer.start();
    publisher.start();
    const first = await waitFor(snapshot, { what: 'a first snapshot' });
    // Nothing changed: the next write is the keepalive's, at least 400 ms later.
    const kept = await waitFor(
      async () => {
        const found = await snapshot();
        return found && found.at !== first.at ? found : undefined;
      },
      { what: 'the keepalive write' },
    );
    expect(kept.at - first.at).toBeGreaterThanOrEqual(400);
    expect(kept.jobs).toEqual(first.jobs);

    await h.enqueue('counted at close');
    await waitFor(() => h.consumer.stats.succeeded === 1, { what: 'the job done' });
    await publisher.close();
    expect((await snapshot())?.jobs.succeeded).toBe(1);
    // A second close is the first one: nothing more is written.
    await h.redis.hdel(h.keys.stats, h.name);
    await publisher.close();
    expect(await h.redis.hexists(h.keys.stats, h.name)).toBe(0);
  });
});
