// The app's own plugins are named (namedPlugin): Fastify then needs no search
// of require.cache to name them, and they show in its plugin tree by name.
// Still encapsulated: the key check of the /predict routes stays theirs.
import { afterEach, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildApp } from '../src/app.js';
import { loadApiConfig } from '../src/config.js';
import { createMockModel } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';

const NAMES = [
  'foretell-predict-routes',
  'foretell-prediction-events',
  'foretell-prediction-cancel',
  'foretell-health-routes',
  'foretell-metrics-routes',
  'foretell-dashboard',
  'foretell-dashboard-page',
  'foretell-dashboard-access',
  'foretell-dashboard-data',
];

let t: TestRedis | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await t?.cleanup();
});

describe("the app's plugins", () => {
  it('are registered by name, each once, and keep their routes and hooks to themselves', async () => {
    t = testRedis();
    const key = 'plugin-names-test-key-0123456789abcdef';
    app = await buildApp({
      config: { ...loadApiConfig({ API_KEYS: key }), KEY_PREFIX: t.prefix },
      redis: t.redis,
      model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
      apiKeys: [key],
    });
    await app.ready();
    const tree = app.printPlugins();
    for (const name of NAMES)
      expect(
        tree.split('\n').filter((line) => line.includes(` ${name} `)),
        name,
      ).toHaveLength(1);
    // Unnamed, Fastify would list each by a preview of its source (`async (app, …) => …`).
    expect(tree).not.toMatch(/async \(/);
    // The key check is the /predict routes' own: the probes answer without a key.
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/predict/abc' })).statusCode).toBe(401);
  });
});
