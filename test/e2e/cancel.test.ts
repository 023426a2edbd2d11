// Cancellation against the built API and consumer processes: the API's cancel
// script marks the job and announces it; the consumer running it aborts its
// model call, in the process (the gated model's held call) or in a worker
// thread (a computation that would otherwise run for ten minutes).
import { fileURLToPath } from 'node:url';
import { MESSAGES } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { waitForLog } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { openSse } from '../support/sse-client.js';
import { waitFor } from '../support/wait-for.js';

const CPU_BOUND_MODEL = fileURLToPath(new URL('../fixtures/model-cpu-bound.mjs', import.meta.url));

const canceledBody = (id: string) => ({ error: MESSAGES.canceled, prediction_id: id, status: 'canceled' });

describe('cancel across processes', () => {
  const apps = useAppsOnPrefix('e2e-cancel', { gated: true });

  it('a running job: its held model call ends without being released, GET is 409 and live events end canceled', async () => {
    const { client, base } = await apps.startApi();
    const consumer = await apps.startConsumer();
    const id = await client.submit('canceled while held');
    await apps.gate.held(1, { unless: consumer.assertRunning });
    const stream = await openSse(`${base}/predict/${id}/events`);
    expect((await stream.received(1))[0]?.event).toBe('processing');

    const response = await client.send({ method: 'POST', url: `/predict/${id}/cancel` });
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: JSON.stringify({ prediction_id: id, status: 'canceled' }),
    });
    // No token was ever pushed: only the abort can end the held call.
    await waitForLog(consumer, 'job canceled while running; model call aborted');
    await waitForLog(consumer, 'job canceled; entry released');
    await waitFor(async () => (await apps.redis.xlen(apps.keys.jobs)) === 0, { what: 'the entry released' });

    await stream.ended;
    expect(stream.events.at(-1)).toEqual({ id: '3', event: 'canceled', data: canceledBody(id) });
    const got = await client.get(id);
    expect({ status: got.status, body: JSON.parse(got.body) as unknown }).toEqual({
      status: 409,
      body: canceledBody(id),
    });
    expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('canceled');

    // The consumer goes on: the next job runs and succeeds.
    const next = await client.submit('after the cancel');
    await apps.gate.release(1);
    await waitFor(async () => (await apps.redis.hget(apps.keys.job(next), 'status')) === 'succeeded', {
      what: 'the next job',
      unless: consumer.assertRunning,
    });
  });

  it('a job computing in a worker thread: the thread is stopped, and the next job is served by a new one', async () => {
    const { client } = await apps.startApi();
    const consumer = await apps.startConsumer({ MODEL_MODULE: CPU_BOUND_MODEL, MODEL_WORKERS: '1' });
    // Ten minutes of computation, in the consumer's only thread.
    const id = await client.submit('600000');
    await waitFor(async () => (await apps.redis.hget(apps.keys.job(id), 'status')) === 'processing', {
      what: 'the computation started',
      unless: consumer.assertRunning,
    });
    expect((await client.send({ method: 'POST', url: `/predict/${id}/cancel` })).status).toBe(200);
    await waitForLog(consumer, 'job canceled; entry released');
    const next = await client.submit('10');
    await waitFor(async () => (await apps.redis.hget(apps.keys.job(next), 'status')) === 'succeeded', {
      what: 'the next job, in a fresh thread',
      unless: consumer.assertRunning,
    });
    expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('canceled');
  });

  it('a queued job never runs: the consumer started afterwards releases its entry without calling the model', async () => {
    const { client } = await apps.startApi();
    const id = await client.submit('never run');
    expect((await client.send({ method: 'POST', url: `/predict/${id}/cancel` })).status).toBe(200);
    const consumer = await apps.startConsumer();
    await waitFor(async () => (await apps.redis.xlen(apps.keys.jobs)) === 0, {
      what: 'the entry released',
      unless: consumer.assertRunning,
    });
    expect(await apps.gate.held(0)).toEqual([]);
    expect(await apps.redis.hget(apps.keys.job(id), 'status')).toBe('canceled');
  });
});
