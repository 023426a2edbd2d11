import { createMockModel, MOCK_MODEL, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

// server.ts runs the model's load() while the app already answers; until it
// has finished, the app is not ready and runs no sync prediction, but queues
// async ones (a consumer runs them once its own copy has loaded).

const ctx = useTestApp();

describe('while the model loads', () => {
  it('/ready and sync predictions are 503 with Retry-After, async ones are queued; once loaded, both serve', async () => {
    let loaded = false;
    await ctx.rebuild({ isModelLoaded: () => loaded });
    await ctx.t.redis.xgroup('CREATE', ctx.t.keys.jobs, ctx.t.keys.group, '$', 'MKSTREAM');

    const notReady = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect([notReady.statusCode, notReady.headers['retry-after'], notReady.body]).toEqual([
      503,
      '1',
      '{"error":"The model is still loading.","code":"NOT_READY"}',
    ]);
    const sync = await ctx.client.post({ input: 'early' });
    expect([sync.status, sync.headers['retry-after'], sync.body]).toEqual([
      503,
      '1',
      '{"error":"The model is still loading; retry shortly.","code":"MODEL_LOADING"}',
    ]);
    expect(sync.headers['foretell-model-name']).toBeUndefined();
    const queued = await ctx.client.post({ input: 'early' }, { 'Async-Mode': 'true' });
    expect(queued.status).toBe(202);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);

    loaded = true;
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const served = await ctx.client.post({ input: 'early' });
    expect([served.status, served.body]).toEqual([
      200,
      JSON.stringify({ input: 'early', result: mockResult('early') }),
    ]);
  });
});

describe('the model that answered, in headers', () => {
  it('a sync answer names the mock model and its version; a 202 does not', async () => {
    const served = await ctx.client.post({ input: 'named' });
    expect(served.status).toBe(200);
    expect(served.headers['foretell-model-name']).toBe(MOCK_MODEL.name);
    expect(served.headers['foretell-model-version']).toBe(MOCK_MODEL.version);
    expect([MOCK_MODEL.name, MOCK_MODEL.version]).toEqual(['mock', '1.0.0']);

    const queued = await ctx.client.post({ input: 'named' }, { 'Async-Mode': 'true' });
    expect(queued.status).toBe(202);
    expect(queued.headers['foretell-model-name']).toBeUndefined();
  });

  it('a model without a name (built in code, not from MODEL_MODULE) sends no such headers', async () => {
    const mock = createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 });
    await ctx.rebuild({ model: { predict: (input, options) => mock.predict(input, options) } });
    const served = await ctx.client.post({ input: 'anonymous' });
    expect(served.status).toBe(200);
    expect(served.headers['foretell-model-name']).toBeUndefined();
    expect(served.headers['foretell-model-version']).toBeUndefined();
  });
});
