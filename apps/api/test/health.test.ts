import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { FORETELL_VERSION, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { fetchClient, UUID_V4 } from '../../../test/support/predict-client.js';
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
      // The refusal is answered by the same hook that echoes the request id: it has one too.
      expect(refused.headers['x-request-id']).toMatch(UUID_V4);
      model.releaseAll();
      const answered = await inFlight;
      expect(answered.status).toBe(200);
      expect(answered.body).toBe(JSON.stringify({ input: 'x', result: mockResult('x') }));
      await closed;
    } finally {
      agent.destroy();
    }
  });

  it('waits for every request still in flight, in slots that answered ones freed, until the last is answered', async () => {
    const model = heldModel();
    const log = captureLog('info');
    await ctx.rebuild({ model, logger: log.logger });
    const base = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const client = fetchClient(base);
    // Answered requests first, many at once: the held ones below reuse the slots they freed.
    const probes = await Promise.all(Array.from({ length: 40 }, () => fetch(`${base}/health`)));
    expect(probes.map((probe) => probe.status)).toEqual(Array.from({ length: 40 }, () => 200));
    const inFlight = ['a', 'b', 'c'].map((input) => client.post({ input }));
    await waitFor(() => model.held() === 3, { what: 'three held model calls' });

    let closed = false;
    const closing = ctx.app.close().then(() => (closed = true));
    await waitFor(() => log.lines.some((line) => line.msg === 'waiting for in-flight requests'), {
      what: 'the app to start draining',
    });
    expect(log.lines.find((line) => line.msg === 'waiting for in-flight requests')?.inFlight).toBe(3);
    model.releaseOne();
    model.releaseOne();
    const [first, second] = await Promise.all(inFlight.slice(0, 2));
    expect([first?.status, second?.status]).toEqual([200, 200]);
    // One request is still held: the app must not have closed.
    expect(closed).toBe(false);
    model.releaseOne();
    expect((await inFlight[2])?.status).toBe(200);
    await closing;
    expect(closed).toBe(true);
  });
});
