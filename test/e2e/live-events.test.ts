// Live events against the built API and consumer processes: the consumers'
// start script announces each started job and their finish script each
// finished one; the API's one subscriber pushes both to the event streams.
// Every model call is held until the test releases it, so the order of events
// is the test's own, never a matter of timing.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MESSAGES, mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { openSse } from '../support/sse-client.js';

const FAILING_MODEL = fileURLToPath(new URL('../fixtures/e2e-failing-model.mjs', import.meta.url));

const apps = useAppsOnPrefix('e2e-events', { gated: true });
const { startApi, startConsumer } = apps;

describe('live events across processes', () => {
  it('queued → processing → succeeded, then the stream ends; a reconnect resumes after its last id', async () => {
    const { client, base } = await startApi();
    // Queued before any consumer runs: the first event is provably `queued`.
    const id = await client.submit('watched live');
    const stream = await openSse(`${base}/predict/${id}/events`);
    expect((await stream.received(1))[0]).toEqual({
      id: '1',
      event: 'queued',
      data: { prediction_id: id, status: 'queued' },
    });
    // The start script's announcements, as any client of the channel sees them.
    const listener = apps.redis.duplicate();
    const announced: string[] = [];
    listener.on('message', (_channel: string, started: string) => announced.push(started));
    await listener.subscribe(apps.keys.started);
    const consumer = await startConsumer();
    await apps.gate.held(1, { unless: consumer.assertRunning });
    expect((await stream.received(2))[1]).toMatchObject({ id: '2', event: 'processing' });
    // A second client that saw `queued` and left: it resumes from there.
    const resumed = await openSse(`${base}/predict/${id}/events`, { 'last-event-id': '1' });
    expect((await resumed.received(1))[0]).toMatchObject({ id: '2', event: 'processing' });
    await apps.gate.release(1);
    await Promise.all([stream.ended, resumed.ended]);
    const succeeded = {
      id: '3',
      event: 'succeeded',
      data: { prediction_id: id, output: { input: 'watched live', result: mockResult('watched live') } },
    };
    expect(stream.events.map((event) => event.event)).toEqual(['queued', 'processing', 'succeeded']);
    expect(stream.events[2]).toEqual(succeeded);
    expect(resumed.events.map((event) => event.event)).toEqual(['processing', 'succeeded']);
    // After the end: nothing more, and the stream ends at once.
    const after = await openSse(`${base}/predict/${id}/events`, { 'last-event-id': '3' });
    await after.ended;
    expect(after.events).toEqual([]);
    // The start script announced the job's one attempt on its own channel.
    expect(announced).toEqual([id]);
    await listener.quit();
  });

  it('a job that fails ends with `failed` and the 500 body', async () => {
    const { client, base } = await startApi();
    const id = await client.submit('refused');
    const stream = await openSse(`${base}/predict/${id}/events`);
    await stream.received(1);
    await startConsumer({ MODEL_MODULE: FAILING_MODEL });
    await stream.ended;
    expect(stream.events.map((event) => event.event)).toEqual(['queued', 'processing', 'failed']);
    expect(stream.events[2]?.data).toMatchObject({ error: MESSAGES.failed, prediction_id: id, status: 'failed' });
  });

  it('an unknown id is the seed 404', async () => {
    const { base } = await startApi();
    const stream = await openSse(`${base}/predict/${randomUUID()}/events`);
    await stream.ended;
    expect(stream.status).toBe(404);
    expect(stream.body()).toBe(JSON.stringify({ error: MESSAGES.notFound }));
  });
});
