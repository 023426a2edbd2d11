import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchClient } from '../../../test/support/predict-client.js';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

const TOO_LARGE_BODY = '{"error":"Request body is too large.","code":"BODY_TOO_LARGE"}';

describe('a body over BODY_LIMIT_BYTES, sent by a common client', () => {
  it("undici's fetch reads the 413 every time (the socket is not reset while it still writes)", async () => {
    const app = await ctx.rebuild({ config: { BODY_LIMIT_BYTES: 64 * 1024 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const client = fetchClient(`http://127.0.0.1:${port}`);
    const body = JSON.stringify({ input: 'x'.repeat(2 * 1024 * 1024) });
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      // Recorded, not asserted, so one failure does not hide the count of the others.
      const outcome = await client.post(body).then(
        (response) => `${response.status} ${response.body}`,
        (error: unknown) => `failed: ${String((error as { cause?: unknown }).cause ?? error)}`,
      );
      outcomes.push(outcome);
    }
    expect(outcomes).toEqual(outcomes.map(() => `413 ${TOO_LARGE_BODY}`));
  });
});

describe('a body with many unknown properties', () => {
  it('10 000 of them: a 400 naming the first one only', async () => {
    await ctx.rebuild({ config: { BODY_LIMIT_BYTES: 1024 * 1024 } });
    const body: Record<string, string> = { input: 'x' };
    for (let index = 0; index < 10_000; index += 1) body[`p${index}`] = 'v';
    const response = await ctx.client.post(body);
    expect(response.status).toBe(400);
    expect(response.body).toBe(
      '{"error":"Invalid request: body has unknown property \'p0\'.","code":"INVALID_REQUEST"}',
    );
  });

  it('a long property name is cut short in the answer', async () => {
    await ctx.rebuild({ config: { BODY_LIMIT_BYTES: 1024 * 1024 } });
    const name = 'n'.repeat(100_000);
    const response = await ctx.client.post({ input: 'x', [name]: 1 });
    expect(response.status).toBe(400);
    expect(response.body).toBe(
      `{"error":"Invalid request: body has unknown property '${'n'.repeat(32)}…'.","code":"INVALID_REQUEST"}`,
    );
  });
});
