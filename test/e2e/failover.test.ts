import { randomUUID } from 'node:crypto';
import { redisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, waitForLog, type AppProcess } from '../support/app-process.js';
import { acceptedId, fetchClient, type PredictClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { startRedisRelay } from '../support/redis-relay.js';
import {
  SENTINEL_MASTER_NAME,
  startRedisTopology,
  waitForCatchUp,
  waitForReplication,
} from '../support/redis-topology.js';
import { waitFor } from '../support/wait-for.js';

// Failover for real: a primary, replicas and a sentinel on free loopback
// ports, the built api and consumer connected to them, and a replica
// promoted while clients submit. Every 202 must end `succeeded`.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Apps {
  readonly client: PredictClient;
  readonly api: AppProcess;
  readonly consumer: AppProcess;
  readonly prefix: string;
  readonly keys: ReturnType<typeof redisKeys>;
  readonly allRunning: () => void;
}

/** The api and one consumer with `env` on a fresh prefix; both stopped after the test. */
async function startApps(env: Record<string, string>): Promise<Apps> {
  const prefix = `failover-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const common = { ...env, KEY_PREFIX: prefix, MODEL_MIN_LATENCY_MS: '0', MODEL_MAX_LATENCY_MS: '0' };
  const api = startApp('api', { ...common, PORT: String(port), HOST: '127.0.0.1' });
  cleanups.push(() => api.kill());
  const consumer = startApp('consumer', {
    ...common,
    CONSUMER_NAME: `failover-${prefix}`,
    CONSUMER_BLOCK_MS: '1000',
    CLAIM_IDLE_MS: '1000',
  });
  cleanups.push(() => consumer.kill());
  const allRunning = () => [api, consumer].forEach((app) => app.assertRunning());
  const client = fetchClient(`http://127.0.0.1:${port}`, 5000);
  await waitForLog(consumer, 'consumer started');
  await waitFor(
    async () => (await client.send({ method: 'GET', url: '/ready' }).catch(() => undefined))?.status === 200,
    {
      what: 'the api ready',
      unless: allRunning,
    },
  );
  return { client, api, consumer, prefix, keys: redisKeys(prefix), allRunning };
}

/** The status of each job as `node` has it ('missing' when it has no such job). */
async function statuses(node: Redis, apps: Apps, ids: readonly string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await node.hget(apps.keys.job(id), 'status')) ?? 'missing'));
}

interface Submissions {
  readonly accepted: string[];
  /** Status codes and `code`s of the refusals. */
  readonly refused: string[];
  /** Stops submitting; resolves once the last request is answered. */
  stop(): Promise<void>;
}

/** Async POSTs one after another until stopped, recording each answer. */
function submitContinuously(apps: Apps, label: string): Submissions {
  const accepted: string[] = [];
  const refused: string[] = [];
  let stopped = false;
  const running = (async () => {
    for (let i = 0; !stopped; i += 1) {
      const response = await apps.client.post({ input: `${label} ${i}` }, { 'async-mode': 'true' });
      if (response.status === 202) accepted.push(acceptedId(response));
      else refused.push(`${response.status} ${(JSON.parse(response.body) as { code?: string }).code}`);
    }
  })();
  return {
    accepted,
    refused,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

describe('Redis failover', () => {
  it('/ready is 503 while the api is connected to a replica, 200 on the primary', async () => {
    const topology = await startRedisTopology();
    cleanups.push(() => topology.dispose());
    const onPrimary = await startApps({ REDIS_URL: topology.first.url });
    // The group exists on the replica too (replicated): only the role can make it not ready.
    await waitFor(async () => (await topology.connect(topology.second).exists(onPrimary.keys.jobs)) === 1, {
      what: 'the stream replicated',
    });

    const port = await freePort();
    const onReplica = startApp('api', {
      REDIS_URL: topology.second.url,
      KEY_PREFIX: onPrimary.prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    cleanups.push(() => onReplica.kill());
    const replicaClient = fetchClient(`http://127.0.0.1:${port}`);
    const health = await waitFor(() => replicaClient.send({ method: 'GET', url: '/health' }).catch(() => undefined), {
      what: 'the api on the replica serving',
      unless: onReplica.assertRunning,
    });
    expect(health.status).toBe(200);
    const ready = await replicaClient.send({ method: 'GET', url: '/ready' });
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toBe('1');
    expect(JSON.parse(ready.body)).toEqual({
      error: 'Connected to a read-only Redis replica; waiting for a primary.',
      code: 'NOT_READY',
    });
    expect((await onPrimary.client.send({ method: 'GET', url: '/ready' })).status).toBe(200);
    // Three processes start one after another: generous for a busy two-core machine.
  }, 60_000);

  it('without sentinels: a demoted node answers READONLY and the apps reconnect to the promoted one', async () => {
    const topology = await startRedisTopology();
    cleanups.push(() => topology.dispose());
    // The apps reach Redis through a name that an operator moves to the new primary (a relay here).
    const relay = await startRedisRelay(topology.first.port);
    cleanups.push(() => relay.close());
    const apps = await startApps({ REDIS_URL: relay.url });
    const before: string[] = [];
    for (let i = 0; i < 5; i += 1) before.push(await apps.client.submit(`before ${i}`));

    const second = topology.connect(topology.second);
    const first = topology.connect(topology.first);
    // A planned switch: the replica has every accepted job before it is promoted (what the
    // consumer writes meanwhile may be lost with the demotion, and is taken up again).
    await waitForCatchUp(first, second);
    await second.replicaof('NO', 'ONE');
    await first.replicaof('127.0.0.1', topology.second.port);
    relay.retarget(topology.second.port);
    await waitForReplication(first, topology.second.port);

    // Open connections still reach the demoted node: only a reconnect finds the new primary.
    const submissions = submitContinuously(apps, 'after');
    try {
      await waitFor(() => submissions.accepted.length >= 20, {
        timeoutMs: 10_000,
        what: '20 jobs accepted after the switch',
        unless: apps.allRunning,
      });
    } finally {
      await submissions.stop();
    }
    expect(new Set(submissions.refused.map((refusal) => refusal.split(' ')[0]))).toEqual(
      new Set(submissions.refused.length > 0 ? ['503'] : []),
    );
    const all = [...before, ...submissions.accepted];
    await waitFor(async () => (await statuses(second, apps, all)).every((status) => status === 'succeeded'), {
      timeoutMs: 15_000,
      what: 'every accepted job succeeded on the promoted node',
      unless: apps.allRunning,
    }).catch(async (error: unknown) => {
      // Which jobs did not, and where they stand: lost with the demotion ('missing'), or stuck.
      const stuck = (await statuses(second, apps, all)).flatMap((status, i) =>
        status === 'succeeded' ? [] : [`${i < before.length ? 'before' : 'after'} ${all[i]}: ${status}`],
      );
      throw new Error(`${String(error)}; not succeeded: ${stuck.join(', ')}`);
    });
    expect((await apps.client.send({ method: 'GET', url: '/ready' })).status).toBe(200);
    expect(apps.api.lines.some((line) => line.includes('read-only replica (failover?); reconnecting'))).toBe(true);
    expect(apps.consumer.lines.some((line) => line.includes('read-only replica (failover?); reconnecting'))).toBe(true);
  });

  it('through a sentinel: a failover under a stream of submissions loses no 202, and both apps follow', async () => {
    const topology = await startRedisTopology({ withSentinel: true });
    cleanups.push(() => topology.dispose());
    // Each 202 waits for the replica's acknowledgement: a write the demoted primary takes after the
    // promotion is never acknowledged (its one replica left it), so it is a 503, not a lost 202. The
    // new primary acknowledges again once the sentinel has made the old one its replica (up to its
    // 10 s INFO period): 503 NOT_REPLICATED until then.
    const apps = await startApps({
      REDIS_SENTINELS: topology.sentinels,
      REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '500',
    });
    const sentinel = topology.sentinel;
    if (sentinel === undefined) throw new Error('no sentinel');

    const submissions = submitContinuously(apps, 'failover');
    try {
      await waitFor(() => submissions.accepted.length >= 20, { what: '20 jobs accepted', unless: apps.allRunning });
      await topology.connect(sentinel).call('SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME);
      await waitFor(async () => (await topology.masterPort()) === topology.second.port, {
        what: 'the sentinel to name the replica master',
      });
      const switched = submissions.accepted.length;
      // Both apps follow within a few seconds: their named connections reach the new primary.
      const promotedClients = topology.connect(topology.second);
      await waitFor(
        async () => {
          const clients = (await promotedClients.client('LIST')) as string;
          return clients.includes('name=foretell-api:') && clients.includes('name=foretell-consumer:');
        },
        { timeoutMs: 5000, what: 'both apps connected to the new primary', unless: apps.allRunning },
      );
      await waitFor(() => submissions.accepted.length >= switched + 20, {
        timeoutMs: 25_000,
        what: '20 jobs accepted after the failover',
        unless: apps.allRunning,
      });
    } finally {
      await submissions.stop();
    }
    for (const refusal of submissions.refused) expect(refusal).toMatch(/^503 (REDIS_UNAVAILABLE|NOT_REPLICATED)$/);
    const promoted = topology.connect(topology.second);
    expect(((await promoted.call('ROLE')) as unknown[])[0]).toBe('master');
    await waitFor(
      async () => (await statuses(promoted, apps, submissions.accepted)).every((status) => status === 'succeeded'),
      { timeoutMs: 15_000, what: 'every accepted job succeeded on the new primary', unless: apps.allRunning },
    );
    expect((await apps.client.send({ method: 'GET', url: '/ready' })).status).toBe(200);
  }, 90_000);
});
