import { mockResult } from '@foretell/shared';
import type { Level } from 'pino';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';
import { captureLog, type LogCapture } from './log-capture.js';

const ctx = useTestApp();

/** A sync POST, an async POST and a GET of its id, all answered as the contract says, with the app logging at `level`. */
async function serveRequestsLoggingAt(level: Level): Promise<LogCapture> {
  const capture = captureLog(level);
  await ctx.rebuild({ logger: capture.logger });
  const sync = await ctx.client.post({ input: 'logged?' });
  expect(sync.status).toBe(200);
  expect(sync.body).toBe(JSON.stringify({ input: 'logged?', result: mockResult('logged?') }));
  const id = await ctx.client.submit('logged?');
  expect((await ctx.client.get(id)).status).toBe(400);
  return capture;
}

describe('request logging', () => {
  it('writes no per-request line at LOG_LEVEL=info', async () => {
    const { lines } = await serveRequestsLoggingAt('info');
    // Fastify tags every line it writes for a request with its reqId.
    expect(lines.filter((line) => line.reqId !== undefined)).toEqual([]);
  });

  it.each(['debug', 'trace'] as const)('writes a line per request and per response at LOG_LEVEL=%s', async (level) => {
    const { lines } = await serveRequestsLoggingAt(level);
    const perRequest = lines
      .filter((line) => line.reqId !== undefined)
      .map((line) => ({
        msg: line.msg,
        method: (line.req as { method?: string } | undefined)?.method,
        status: (line.res as { statusCode?: number } | undefined)?.statusCode,
      }));
    expect(perRequest).toEqual([
      { msg: 'incoming request', method: 'POST', status: undefined },
      { msg: 'request completed', method: undefined, status: 200 },
      { msg: 'incoming request', method: 'POST', status: undefined },
      { msg: 'request completed', method: undefined, status: 202 },
      { msg: 'incoming request', method: 'GET', status: undefined },
      { msg: 'request completed', method: undefined, status: 400 },
    ]);
  });
});
