import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

const LONE_SURROGATE_BODY =
  '{"error":"Invalid request: body/input must be well-formed Unicode (no lone UTF-16 surrogates).","code":"INVALID_REQUEST"}';

describe('input that is not well-formed Unicode', () => {
  it.each([
    ['a lone high surrogate', '"\\ud800abc"'],
    ['a lone low surrogate', '"abc\\udc00"'],
    ['a reversed pair', '"\\udc00\\ud800"'],
  ])('%s is a 400, sync and async alike, and nothing is queued', async (_, input) => {
    const sync = await ctx.client.post(`{"input":${input}}`);
    const queued = await ctx.client.post(`{"input":${input}}`, { 'async-mode': 'true' });
    expect([sync.status, sync.body]).toEqual([400, LONE_SURROGATE_BODY]);
    expect([queued.status, queued.body]).toEqual([400, LONE_SURROGATE_BODY]);
    expect(await ctx.t.redis.exists(ctx.t.keys.jobs)).toBe(0);
  });

  it('a surrogate pair (an emoji, escaped) is well-formed: accepted and echoed', async () => {
    const response = await ctx.client.post('{"input":"\\ud83d\\ude00"}');
    expect(response.status).toBe(200);
    expect((JSON.parse(response.body) as { input: string }).input).toBe('😀');
  });
});
