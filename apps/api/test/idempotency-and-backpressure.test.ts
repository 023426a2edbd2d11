import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

function submit(input: string, headers: Record<string, string> = {}) {
  return ctx.app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'application/json', 'async-mode': 'true', ...headers },
    payload: JSON.stringify({ input }),
  });
}

describe('Idempotency-Key', () => {
  it('returns the same prediction_id for the same key and body, and enqueues once', async () => {
    const first = await submit('charge order 42', { 'idempotency-key': 'order-42' });
    expect(first.statusCode).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const id = first.json<{ prediction_id: string }>().prediction_id;

    const again = await submit('charge order 42', { 'idempotency-key': 'order-42' });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(`/predict/${id}`);
    expect(again.json()).toEqual({ message: 'Request received. Processing asynchronously.', prediction_id: id });
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
    expect(await ctx.t.redis.ttl(ctx.t.keys.idempotency('order-42'))).toBeGreaterThan(3000);
  });

  it('enqueues once under concurrent requests with one key', async () => {
    const answers = await Promise.all(Array.from({ length: 25 }, () => submit('same', { 'idempotency-key': 'k' })));
    const ids = new Set(answers.map((answer) => answer.json<{ prediction_id: string }>().prediction_id));
    expect(answers.every((answer) => answer.statusCode === 202)).toBe(true);
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true')).toHaveLength(24);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
  });

  it('answers 422 for the same key with another body, and writes nothing', async () => {
    await submit('first body', { 'idempotency-key': 'reused' });
    const conflict = await submit('second body', { 'idempotency-key': 'reused' });
    expect(conflict.statusCode).toBe(422);
    expect(conflict.json()).toEqual({
      error: 'This Idempotency-Key was already used with a different request body.',
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
  });

  it('keeps different keys apart, and requests without a key independent', async () => {
    const a = (await submit('x', { 'idempotency-key': 'a' })).json<{ prediction_id: string }>().prediction_id;
    const b = (await submit('x', { 'idempotency-key': 'b' })).json<{ prediction_id: string }>().prediction_id;
    const c = (await submit('x')).json<{ prediction_id: string }>().prediction_id;
    const d = (await submit('x')).json<{ prediction_id: string }>().prediction_id;
    expect(new Set([a, b, c, d]).size).toBe(4);
  });

  it.each([
    ['too long', 'k'.repeat(256)],
    ['empty', ''],
    ['with a space', 'two words'],
    ['with a control character', 'tab\tkey'],
    ['non-ASCII', 'clé'],
  ])('refuses a key %s with 400', async (_, key) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'application/json', 'async-mode': 'true', 'idempotency-key': key },
      payload: '{"input":"x"}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ code: string; error: string }>().code).toBe('INVALID_REQUEST');
    expect(response.json<{ error: string }>().error).toMatch(/^Invalid request: headers\/idempotency-key .*\.$/);
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('accepts a key of 255 visible characters', async () => {
    expect((await submit('x', { 'idempotency-key': 'k'.repeat(255) })).statusCode).toBe(202);
  });
});

describe('backpressure', () => {
  it('answers 503 with Retry-After and writes nothing once the backlog reaches MAX_QUEUE_LENGTH', async () => {
    await ctx.rebuild({ config: { MAX_QUEUE_LENGTH: 3 } });
    for (let i = 0; i < 3; i += 1) {
      expect((await submit(`job ${i}`, { 'idempotency-key': `key-${i}` })).statusCode).toBe(202);
    }
    const refused = await submit('one too many');
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({ error: 'The queue is full; retry later.', code: 'QUEUE_FULL' });
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(3);
    expect(await ctx.t.redis.keys(`${ctx.t.prefix}:job:*`)).toHaveLength(3);

    // A replay of an admitted request is still answered, for it adds nothing.
    const replay = await submit('job 0', { 'idempotency-key': 'key-0' });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');

    // Room again once a consumer has taken an entry off the stream.
    const [oldest] = await ctx.t.redis.xrange(ctx.t.keys.jobs, '-', '+', 'COUNT', 1);
    await ctx.t.redis.xdel(ctx.t.keys.jobs, oldest?.[0] ?? '');
    expect((await submit('room again')).statusCode).toBe(202);
  });

  it('answers 503 to sync requests beyond MAX_SYNC_IN_FLIGHT, and serves them again after', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let running = 0;
    await ctx.rebuild({
      config: { MAX_SYNC_IN_FLIGHT: 2 },
      model: {
        predict: async (input) => {
          running += 1;
          await gate;
          return input.length.toString();
        },
      },
    });
    const sync = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/predict',
        headers: { 'content-type': 'application/json' },
        payload: '{"input":"abc"}',
      });
    const held = [sync(), sync()];
    await expect.poll(() => running).toBe(2);
    const refused = await sync();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error: 'Too many synchronous predictions are running; retry later.',
      code: 'SYNC_OVERLOADED',
    });
    // Async submissions are not held back by sync load.
    expect((await submit('async meanwhile')).statusCode).toBe(202);
    release();
    for (const response of await Promise.all(held)) expect(response.statusCode).toBe(200);
    expect((await sync()).statusCode).toBe(200);
  });
});
