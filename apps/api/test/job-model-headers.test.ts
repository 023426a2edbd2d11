import { modelLabel, modelRef } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

const SENTIMENT = { name: 'sentiment', version: '2.1.0' };

/** Finishes a job as the consumer's finish script does: outcome, the model's ref, and the registry. */
async function finish(id: string, fields: Record<string, string>, model = SENTIMENT): Promise<void> {
  await ctx.t.redis.hset(ctx.t.keys.models, modelRef(model), modelLabel(model));
  await ctx.t.redis.hset(ctx.t.keys.job(id), { ...fields, finished: String(Date.now()), model: modelRef(model) });
}

describe('GET /predict/{id} names the model that finished the job', () => {
  it('sends Foretell-Model-Name and -Version with a succeeded job, the body unchanged', async () => {
    const id = await ctx.client.submit('done');
    await finish(id, { status: 'succeeded', result: '4242' });
    const response = await ctx.client.get(id);
    expect(response.status).toBe(200);
    expect(response.body).toBe(`{"prediction_id":"${id}","output":{"input":"done","result":"4242"}}`);
    expect(response.headers['foretell-model-name']).toBe('sentiment');
    expect(response.headers['foretell-model-version']).toBe('2.1.0');
  });

  it('sends them with a failed job too', async () => {
    const id = await ctx.client.submit('doomed');
    await finish(id, { status: 'failed', reason: 'model exploded' });
    const response = await ctx.client.get(id);
    expect(response.status).toBe(500);
    expect(response.headers['foretell-model-name']).toBe('sentiment');
    expect(response.headers['foretell-model-version']).toBe('2.1.0');
  });

  it('sends none while the job waits, nor for a job finished before jobs named their model', async () => {
    const waiting = await ctx.client.submit('waiting');
    expect((await ctx.client.get(waiting)).headers['foretell-model-name']).toBeUndefined();
    const old = await ctx.client.submit('old');
    await ctx.t.redis.hset(ctx.t.keys.job(old), { status: 'succeeded', result: '1', finished: '1' });
    const response = await ctx.client.get(old);
    expect(response.status).toBe(200);
    expect(response.headers['foretell-model-name']).toBeUndefined();
  });

  it('answers without the headers, not with an error, when the registry lost the ref; a ref once read is remembered', async () => {
    const id = await ctx.client.submit('orphan');
    await finish(id, { status: 'succeeded', result: '7' }, { name: 'gone', version: '1' });
    await ctx.t.redis.del(ctx.t.keys.models);
    const lost = await ctx.client.get(id);
    expect([lost.status, lost.headers['foretell-model-name']]).toEqual([200, undefined]);

    const other = await ctx.client.submit('remembered');
    await finish(other, { status: 'succeeded', result: '8' });
    expect((await ctx.client.get(other)).headers['foretell-model-name']).toBe('sentiment');
    await ctx.t.redis.del(ctx.t.keys.models);
    expect((await ctx.client.get(other)).headers['foretell-model-name']).toBe('sentiment');
  });

  it('treats a model field foretell did not write as a corrupt record (500), like any other', async () => {
    const id = await ctx.client.submit('tampered');
    await ctx.t.redis.hset(ctx.t.keys.job(id), {
      status: 'succeeded',
      result: '1',
      finished: '1',
      model: 'x'.repeat(9),
    });
    const response = await ctx.client.get(id);
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toHaveProperty('error');
  });
});
