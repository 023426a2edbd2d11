import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

describe('probes', () => {
  it('/health answers 200 while the process serves', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('/ready answers 503 until the consumer group exists, then 200', async () => {
    const before = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect(before.statusCode).toBe(503);
    expect(before.headers['retry-after']).toBe('1');
    expect(before.json()).toEqual({
      error: 'The consumer group does not exist yet; start a consumer.',
      code: 'NOT_READY',
    });

    // A stream without the group is still not ready.
    await ctx.t.redis.xadd(ctx.t.keys.jobs, '*', 'id', 'x', 'input', 'y');
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);

    await ctx.t.redis.xgroup('CREATE', ctx.t.keys.jobs, ctx.t.keys.group, '0');
    const after = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready' });
  });
});

function get(agent: Agent, url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('closing', () => {
  it('finishes in-flight requests and answers new ones 503 in our error format', async () => {
    let modelCalled: () => void = () => undefined;
    const called = new Promise<void>((resolve) => (modelCalled = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await ctx.rebuild({
      model: {
        predict: async (input) => {
          modelCalled();
          await released;
          return mockResult(input);
        },
      },
    });
    const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    // A keep-alive connection opened before close(): it can still send a request while the app drains.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(agent, `${base}/health`)).status).toBe(200);

    const inFlight = fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":"x"}',
    });
    await called;
    const closed = ctx.app.close();
    const refused = await get(agent, `${base}/health`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({
      error: 'The server is shutting down; retry shortly.',
      code: 'SHUTTING_DOWN',
    });
    release();
    expect(await (await inFlight).json()).toEqual({ input: 'x', result: mockResult('x') });
    await closed;
    agent.destroy();
  });
});
