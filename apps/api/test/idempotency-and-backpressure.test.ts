import { mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { acceptedId, ACCEPTED_MESSAGE } from '../../../test/support/predict-client.js';
import { useTestApp } from './build-test-app.js';
import { heldModel } from '../../../test/support/held-model.js';

const ctx = useTestApp();

const asyncWithKey = (key: string) => ({ 'async-mode': 'true', 'idempotency-key': key });

describe('Idempotency-Key', () => {
  it('returns the same prediction_id for the same key and body, and enqueues once', async () => {
    const first = await ctx.client.post({ input: 'charge order 42' }, asyncWithKey('order-42'));
    const id = acceptedId(first);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await ctx.client.post({ input: 'charge order 42' }, asyncWithKey('order-42'));
    expect(acceptedId(again)).toBe(id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(JSON.stringify({ message: ACCEPTED_MESSAGE, prediction_id: id }));
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
    expect(await ctx.t.redis.ttl(ctx.t.keys.idempotency('order-42'))).toBeGreaterThan(3000);
  });

  it('enqueues once under concurrent requests with one key', async () => {
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => ctx.client.post({ input: 'same' }, asyncWithKey('k'))),
    );
    const ids = new Set(answers.map(acceptedId));
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true')).toHaveLength(24);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
  });

  it('answers 422 for the same key with another body, and writes nothing', async () => {
    await ctx.client.submit('first body', { 'idempotency-key': 'reused' });
    const conflict = await ctx.client.post({ input: 'second body' }, asyncWithKey('reused'));
    expect(conflict.status).toBe(422);
    expect(conflict.body).toBe(
      '{"error":"This Idempotency-Key was already used with a different request body.","code":"IDEMPOTENCY_KEY_REUSED"}',
    );
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
  });

  it('keeps different keys apart, and requests without a key independent', async () => {
    const a = await ctx.client.submit('x', { 'idempotency-key': 'a' });
    const b = await ctx.client.submit('x', { 'idempotency-key': 'b' });
    const c = await ctx.client.submit('x');
    const d = await ctx.client.submit('x');
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(4);
  });

  const VISIBLE_ASCII = 'must be visible ASCII characters (no spaces, control or non-ASCII characters)';
  it.each([
    ['too long', 'k'.repeat(256), 'must not have more than 255 characters'],
    ['empty', '', `must not be empty; headers/idempotency-key ${VISIBLE_ASCII}`],
    ['with a space', 'two words', VISIBLE_ASCII],
    ['with a control character', 'tab\tkey', VISIBLE_ASCII],
    ['non-ASCII', 'clé', VISIBLE_ASCII],
  ])('refuses a key %s with 400, in async and in sync mode, and writes nothing', async (_, key, why) => {
    const expected = JSON.stringify({
      error: `Invalid request: headers/idempotency-key ${why}.`,
      code: 'INVALID_REQUEST',
    });
    // Sync requests do not use the key, but it is still checked: a malformed one is refused, not ignored.
    for (const mode of ['true', 'false']) {
      const response = await ctx.client.post({ input: 'x' }, { 'async-mode': mode, 'idempotency-key': key });
      expect(response.status, `Async-Mode: ${mode}`).toBe(400);
      expect(response.body, `Async-Mode: ${mode}`).toBe(expected);
    }
    expect(await ctx.t.redis.keys(`${ctx.t.prefix}:*`)).toEqual([]);
  });

  it('accepts a key of 255 visible characters', async () => {
    await ctx.client.submit('x', { 'idempotency-key': 'k'.repeat(255) });
    expect(await ctx.t.redis.exists(ctx.t.keys.idempotency('k'.repeat(255)))).toBe(1);
  });
});

describe('Idempotency-Key on a sync request', () => {
  it('is ignored: each request runs the model and answers 200, and nothing is written to Redis', async () => {
    const model = heldModel();
    model.releaseAll();
    await ctx.rebuild({ model });
    for (const input of ['same key', 'same key', 'another body']) {
      const response = await ctx.client.post({ input }, { 'idempotency-key': 'sync-1' });
      expect(response.status).toBe(200);
      expect(response.headers['idempotent-replayed']).toBeUndefined();
      expect(response.body).toBe(JSON.stringify({ input, result: mockResult(input) }));
    }
    expect(model.calls).toEqual(['same key', 'same key', 'another body']);
    expect(await ctx.t.redis.keys(`${ctx.t.prefix}:*`)).toEqual([]);
  });

  it('does not claim the key: a later async request with it is queued afresh', async () => {
    expect((await ctx.client.post({ input: 'x' }, { 'idempotency-key': 'shared' })).status).toBe(200);
    const queued = await ctx.client.post({ input: 'other body' }, asyncWithKey('shared'));
    acceptedId(queued);
    expect(queued.headers['idempotent-replayed']).toBeUndefined();
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(1);
  });
});

describe('backpressure', () => {
  it('answers 503 with Retry-After and writes nothing once the backlog reaches MAX_QUEUE_LENGTH', async () => {
    await ctx.rebuild({ config: { MAX_QUEUE_LENGTH: 3 } });
    for (let i = 0; i < 3; i += 1) await ctx.client.submit(`job ${i}`, { 'idempotency-key': `key-${i}` });
    const refused = await ctx.client.post({ input: 'one too many' }, { 'async-mode': 'true' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe('{"error":"The queue is full; retry later.","code":"QUEUE_FULL"}');
    expect(await ctx.t.redis.xlen(ctx.t.keys.jobs)).toBe(3);
    expect(await ctx.t.redis.keys(`${ctx.t.keys.jobPrefix}*`)).toHaveLength(3);

    // A replay of an admitted request is still answered, for it adds nothing.
    const replay = await ctx.client.post({ input: 'job 0' }, asyncWithKey('key-0'));
    acceptedId(replay);
    expect(replay.headers['idempotent-replayed']).toBe('true');

    // Room again once a consumer has taken an entry off the stream.
    const [oldest] = await ctx.t.redis.xrange(ctx.t.keys.jobs, '-', '+', 'COUNT', 1);
    expect(await ctx.t.redis.xdel(ctx.t.keys.jobs, oldest?.[0] ?? '')).toBe(1);
    await ctx.client.submit('room again');
  });

  it('answers 503 to sync requests beyond MAX_SYNC_IN_FLIGHT, and serves them again after', async () => {
    const model = heldModel();
    await ctx.rebuild({ config: { MAX_SYNC_IN_FLIGHT: 2 }, model });
    const held = [ctx.client.post({ input: 'abc' }), ctx.client.post({ input: 'abc' })];
    // A deadline for a busy machine, not a wait: it ends as soon as both calls are held.
    await expect.poll(() => model.calls.length, { timeout: 10_000 }).toBe(2);
    const refused = await ctx.client.post({ input: 'abc' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe(
      '{"error":"Too many synchronous predictions are running; retry later.","code":"SYNC_OVERLOADED"}',
    );
    expect(model.calls).toHaveLength(2);
    // Async submissions are not held back by sync load.
    await ctx.client.submit('async meanwhile');
    model.releaseAll();
    for (const response of await Promise.all(held)) expect(response.status).toBe(200);
    expect((await ctx.client.post({ input: 'abc' })).status).toBe(200);
  });
});
