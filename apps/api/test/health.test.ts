import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { FORETELL_VERSION, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { fetchClient } from '../../../test/support/predict-client.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { useTestApp } from './build-test-app.js';
import { heldModel } from '../../../test/support/held-model.js';
import { captureLog } from './log-capture.js';

const ctx = useTestApp();

describe('probes', () => {
  it('/health answers 200 while the process serves', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', version: FORETELL_VERSION });
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
    const model = heldModel();
    const log = captureLog('info');
    await ctx.rebuild({ model, logger: log.logger });
    const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    // A keep-alive connection opened before close(): it can still send a request while the app drains.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(agent, `${base}/health`)).status).toBe(200);

      const inFlight = fetchClient(base).post({ input: 'x' });
      await model.called;
      const closed = ctx.app.close();
      // Sent once the app is draining (it says so), not merely after close() was called.
      await waitFor(() => log.lines.some((line) => line.msg === 'waiting for in-flight requests'), {
        what: 'the app to start draining',
      });
      const refused = await get(agent, `${base}/health`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toBe('{"error":"The server is shutting down; retry shortly.","code":"SHUTTING_DOWN"}');
      model.releaseAll();
      const answered = await inFlight;
      expect(answered.status).toBe(200);
      expect(answered.body).toBe(JSON.stringify({ input: 'x', result: mockResult('x') }));
      await closed;
    } finally {
      agent.destroy();
    }
  });
});
