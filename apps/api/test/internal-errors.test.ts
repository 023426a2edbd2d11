import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';
import { captureLog, type LogCapture } from './log-capture.js';

const ctx = useTestApp();

const INTERNAL_BODY = '{"error":"Internal server error.","code":"INTERNAL"}';
const SECRET = 'password=hunter2';

/** The app logging at info into memory: errors must be logged at every level. */
async function appWithCapturedLog(): Promise<LogCapture> {
  const capture = captureLog('info');
  await ctx.rebuild({ logger: capture.logger });
  return capture;
}

/** The error lines the app wrote (pino's level 50 and above), with the error each one carries. */
function errorLines({ lines }: LogCapture): { msg: string | undefined; err: unknown }[] {
  return lines.filter((line) => line.level >= 50).map((line) => ({ msg: line.msg, err: line.err }));
}

/** An asymmetric matcher: a logged error whose message matches. */
const errorWithMessage = (message: RegExp): unknown =>
  expect.objectContaining({ message: expect.stringMatching(message) as unknown }) as unknown;

describe('an unexpected error (a bug) answers 500 INTERNAL and never shows its details', () => {
  it.each([
    ['an Error', () => new Error(`cannot connect with ${SECRET}`)],
    // A library's error carrying a 5xx status of its own is still a bug to the client.
    ['an error with its own 503 status', () => Object.assign(new Error(`upstream ${SECRET}`), { statusCode: 503 })],
    ['a thrown string', () => `raw ${SECRET}`],
  ])('%s thrown by a handler: generic body; the details go to the log', async (_, makeError) => {
    const capture = await appWithCapturedLog();
    // A route of the test's own stands for a bug anywhere in a handler.
    ctx.app.get('/bug', async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a bug may throw anything, a string too.
      throw makeError();
    });
    const response = await ctx.client.send({ method: 'GET', url: '/bug' });
    expect(response.status).toBe(500);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toBe(INTERNAL_BODY);
    expect(JSON.stringify(errorLines(capture))).toContain(SECRET);
  });

  it('GET /predict/{id} of a key that is not a hash (Redis WRONGTYPE)', async () => {
    const capture = await appWithCapturedLog();
    const id = await ctx.client.submit('x');
    await ctx.t.redis.del(ctx.t.keys.job(id));
    await ctx.t.redis.set(ctx.t.keys.job(id), SECRET);
    const response = await ctx.client.get(id);
    expect(response.status).toBe(500);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body).toBe(INTERNAL_BODY);
    expect(errorLines(capture)).toEqual([{ msg: 'request failed', err: errorWithMessage(/^WRONGTYPE/) }]);
  });

  it('GET /predict/{id} of a job hash that does not match its schema: a bug, not an outage (no 503)', async () => {
    const capture = await appWithCapturedLog();
    const id = await ctx.client.submit('x');
    await ctx.t.redis.hset(ctx.t.keys.job(id), 'status', SECRET);
    const response = await ctx.client.get(id);
    expect(response.status).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toBe(INTERNAL_BODY);
    expect(errorLines(capture)).toEqual([
      { msg: 'request failed', err: errorWithMessage(/^job hash does not match its schema/) },
    ]);
  });

  it('an async POST whose Idempotency-Key record is of the wrong type (the Lua script fails)', async () => {
    const capture = await appWithCapturedLog();
    await ctx.t.redis.hset(ctx.t.keys.idempotency('order-1'), 'secret', SECRET);
    const response = await ctx.client.post({ input: 'x' }, { 'async-mode': 'true', 'idempotency-key': 'order-1' });
    expect(response.status).toBe(500);
    expect(response.body).toBe(INTERNAL_BODY);
    expect(errorLines(capture)).toEqual([{ msg: 'request failed', err: errorWithMessage(/WRONGTYPE/) }]);
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });
});
