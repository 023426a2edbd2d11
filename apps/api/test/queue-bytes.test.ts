import { describe, expect, it } from 'vitest';
import { acceptedId } from '../../../test/support/predict-client.js';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

const QUEUE_FULL = '{"error":"The queue is full; retry later.","code":"QUEUE_FULL"}';

describe('MAX_QUEUE_BYTES', () => {
  it('answers 503 QUEUE_FULL with Retry-After once the inputs waiting would pass the cap, in bytes, and writes nothing', async () => {
    await ctx.rebuild({ config: { MAX_QUEUE_BYTES: 20 } });
    const { redis, keys } = ctx.t;
    // 10 characters, 20 bytes of UTF-8: the cap counts bytes.
    await ctx.client.submit('éééééééééé', { 'idempotency-key': 'first' });
    const refused = await ctx.client.post({ input: 'x' }, { 'async-mode': 'true' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe(QUEUE_FULL);
    expect(await redis.xlen(keys.jobs)).toBe(1);
    expect(await redis.keys(`${keys.jobPrefix}*`)).toHaveLength(1);
    expect(await redis.get(keys.backlogBytes)).toBe('20');

    // A repeat of the admitted request adds nothing, so it is still answered.
    const repeat = await ctx.client.post({ input: 'éééééééééé' }, { 'async-mode': 'true', 'idempotency-key': 'first' });
    acceptedId(repeat);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    // Sync predictions are not queued: not capped.
    expect((await ctx.client.post({ input: 'now' })).status).toBe(200);
  });

  it('is off at 0', async () => {
    await ctx.rebuild({ config: { MAX_QUEUE_BYTES: 0 } });
    for (let i = 0; i < 3; i += 1) await ctx.client.submit('x'.repeat(500));
    expect(await ctx.t.redis.get(ctx.t.keys.backlogBytes)).toBe('1500');
  });
});

describe('a TTL that Redis would refuse', () => {
  it('is an internal error that leaves nothing half-written', async () => {
    // Beyond any configuration's bound: the script itself refuses it before writing.
    await ctx.rebuild({ config: { RESULT_TTL_SECONDS: 1e16 } });
    const answer = await ctx.client.post({ input: 'x' }, { 'async-mode': 'true', 'idempotency-key': 'k' });
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('{"error":"Internal server error.","code":"INTERNAL"}');
    expect(await ctx.t.redis.keys(`${ctx.t.prefix}:*`)).toEqual([]);
  });
});
