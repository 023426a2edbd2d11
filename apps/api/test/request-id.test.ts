import { describe, expect, it } from 'vitest';
import { acceptedId, UUID_V4 } from '../../../test/support/predict-client.js';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The stream entry of a job, as its field list. */
async function entryOf(id: string): Promise<string[]> {
  const entries = await ctx.t.redis.xrange(ctx.t.keys.jobs, '-', '+');
  return entries.find(([, fields]) => fields[1] === id)?.[1] ?? [];
}

describe('X-Request-Id', () => {
  it('is made by the API when the client sends none, and echoed on every answer: success, 4xx, 404', async () => {
    const answers = [
      await ctx.client.post({ input: 'x' }),
      await ctx.client.post({ nope: 1 }),
      await ctx.client.get('3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11'),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 400, 404]);
    for (const answer of answers) expect(answer.headers['x-request-id']).toMatch(UUID_V4);
    expect(new Set(answers.map((answer) => answer.headers['x-request-id'])).size).toBe(3);
    const health = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(health.headers['x-request-id']).toMatch(UUID_V4);
  });

  it("is the client's own when it is one, echoed, and stored with an async job and in its stream entry", async () => {
    const response = await ctx.client.post(
      { input: 'mine' },
      { 'async-mode': 'true', 'x-request-id': 'checkout-42', traceparent: TRACEPARENT },
    );
    expect(response.status).toBe(202);
    expect(response.headers['x-request-id']).toBe('checkout-42');
    const id = acceptedId(response);
    expect(await ctx.t.redis.hmget(ctx.t.keys.job(id), 'request_id', 'traceparent')).toEqual([
      'checkout-42',
      TRACEPARENT,
    ]);
    expect(await entryOf(id)).toEqual(['id', id, 'input', 'mine', 'rid', 'checkout-42', 'tp', TRACEPARENT]);
  });

  it.each([
    ['longer than 128 characters', 'a'.repeat(129)],
    ['with a space', 'two words'],
    ['with a control character', 'bell\u0007'],
    ['empty', ''],
  ])('is replaced by one of the API when the client sends one %s (never echoed, never stored)', async (_, sent) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'application/json', 'async-mode': 'true', 'x-request-id': sent },
      payload: { input: 'x' },
    });
    expect(response.statusCode).toBe(202);
    const made = response.headers['x-request-id'];
    expect(made).toMatch(UUID_V4);
    const id = (JSON.parse(response.body) as { prediction_id: string }).prediction_id;
    expect(await ctx.t.redis.hget(ctx.t.keys.job(id), 'request_id')).toBe(made);
  });
});

describe('traceparent', () => {
  it.each([
    ['of another version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['with an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['with an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['in upper case', TRACEPARENT.toUpperCase()],
    ['cut short', TRACEPARENT.slice(0, 40)],
    ['of 8 KiB', `${TRACEPARENT}-${'f'.repeat(8192)}`],
  ])('is ignored, not refused, when it is %s (W3C: an invalid one is dropped)', async (_, sent) => {
    const response = await ctx.client.post({ input: 'x' }, { 'async-mode': 'true', traceparent: sent });
    expect(response.status).toBe(202);
    const id = acceptedId(response);
    expect(await ctx.t.redis.hexists(ctx.t.keys.job(id), 'traceparent')).toBe(0);
    expect(await entryOf(id)).not.toContain('tp');
  });
});
