// Long-poll against the built API and consumer processes: the consumers'
// finish script announces each finished job (succeeded or failed) and the
// API's one subscriber wakes the requests waiting for it. Every model call is
// held until the test releases it, so the order of events is the test's own.
import { fileURLToPath } from 'node:url';
import { MESSAGES, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { type PredictResponse } from '../support/predict-client.js';
import { waitFor } from '../support/wait-for.js';

const FAILING_MODEL = fileURLToPath(new URL('../fixtures/e2e-failing-model.mjs', import.meta.url));

const apps = useAppsOnPrefix('e2e-wait', { gated: true });
const { startConsumer } = apps;
const startApi = (env: Record<string, string> = {}) => apps.startApi(env, { clientTimeoutMs: 90_000 });

/** Subscribers of the channel finished jobs are announced on: the API's one subscriber once a request has waited. */
async function subscribers(): Promise<number> {
  const [, count] = (await apps.redis.pubsub('NUMSUB', apps.keys.done)) as [string, number];
  return count;
}

function tracked(events: string[], name: string, pending: Promise<PredictResponse>): Promise<PredictResponse> {
  return pending.then((response) => {
    events.push(name);
    return response;
  });
}

describe('long-poll across processes', () => {
  it('GET ?wait answers right after the consumer finishes the job', async () => {
    const { client, api } = await startApi();
    const consumer = await startConsumer();
    const id = await client.submit('held by the gate');
    await apps.gate.held(1, { unless: consumer.assertRunning });
    const events: string[] = [];
    const answer = tracked(events, 'answered', client.send({ method: 'GET', url: `/predict/${id}?wait=60` }));
    await waitFor(async () => (await subscribers()) === 1, { what: 'the API subscribed', unless: api.assertRunning });
    expect(events).toEqual([]);
    events.push('released');
    await apps.gate.release(1);
    const response = await answer;
    expect(events).toEqual(['released', 'answered']);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      prediction_id: id,
      output: { input: 'held by the gate', result: mockResult('held by the gate') },
    });
  });

  it('a job that fails for good is announced too: the waiting GET gets its 500 at once', async () => {
    const { client, api } = await startApi();
    const id = await client.submit('refused');
    const events: string[] = [];
    const answer = tracked(
      events,
      'answered',
      client.send({ method: 'GET', url: `/predict/${id}`, headers: { prefer: 'wait=60' } }),
    );
    await waitFor(async () => (await subscribers()) === 1, { what: 'the API subscribed', unless: api.assertRunning });
    // The job runs only now, while the request waits.
    events.push('consumer');
    await startConsumer({ MODEL_MODULE: FAILING_MODEL });
    const response = await answer;
    expect(events).toEqual(['consumer', 'answered']);
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toMatchObject({ error: MESSAGES.failed, prediction_id: id, status: 'failed' });
    expect(response.headers['preference-applied']).toBe('wait=60');
  });

  it('POST with Async-Mode and Prefer: wait answers 200 for a job done in time, 202 for one that is not', async () => {
    const { client } = await startApi({ MAX_WAIT_SECONDS: '1' });
    const consumer = await startConsumer();
    // Fast: the gate lets the call through as soon as it comes.
    await apps.gate.release(1);
    const fast = await client.post({ input: 'fast' }, { 'async-mode': 'true', prefer: 'wait=30' });
    expect(fast.status).toBe(200);
    expect(fast.body).toBe(JSON.stringify({ input: 'fast', result: mockResult('fast') }));
    expect(fast.headers['preference-applied']).toBe('wait=1');
    expect(fast.headers['foretell-model-name']).toBe('mock');
    // Slow: held until after the (capped) wait has run out.
    const slow = await client.post({ input: 'slow' }, { prefer: 'respond-async, wait=30' });
    expect(slow.status).toBe(202);
    expect(slow.headers['preference-applied']).toBe('respond-async, wait=1');
    const { prediction_id: id } = JSON.parse(slow.body) as { prediction_id: string };
    expect(slow.headers.location).toBe(`/predict/${id}`);
    await apps.gate.held(2, { unless: consumer.assertRunning });
    await apps.gate.release(1);
    const later = await client.send({ method: 'GET', url: `/predict/${id}?wait=1` });
    expect(later.status).toBe(200);
  });

  it('SIGTERM answers the waiting requests at once and exits 0, however long they asked to wait', async () => {
    // At debug, the API logs each request it received: all of them are in flight when the signal comes.
    const { client, api } = await startApi({
      MAX_WAIT_SECONDS: '3600',
      SHUTDOWN_GRACE_MS: '600000',
      LOG_LEVEL: 'debug',
    });
    const id = await client.submit('never run: no consumer');
    const events: string[] = [];
    const waits = Array.from({ length: 10 }, () =>
      client.send({ method: 'GET', url: `/predict/${id}`, headers: { prefer: 'wait=3600' } }),
    );
    const answered = Promise.all(waits).then((responses) => {
      events.push('answered');
      return responses;
    });
    const exited = api.exited.then((code) => {
      events.push('exited');
      return code;
    });
    const received = () =>
      api.lines.filter((line) => line.includes('"msg":"incoming request"') && line.includes(`/predict/${id}"`)).length;
    await waitFor(() => received() === 10, { what: 'the waits received', unless: api.assertRunning });
    await waitFor(async () => (await subscribers()) === 1, { what: 'the API subscribed', unless: api.assertRunning });
    api.child.kill('SIGTERM');
    const responses = await answered;
    expect(await exited).toBe(0);
    expect(events).toEqual(['answered', 'exited']);
    for (const response of responses) {
      expect(response.status).toBe(400);
      expect(response.body).toBe(JSON.stringify({ error: MESSAGES.stillProcessing }));
    }
    expect(await subscribers()).toBe(0);
  });
});
