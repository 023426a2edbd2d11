// Webhooks against the built API and consumer processes and a real receiver
// on 127.0.0.1: the API checks and stores the webhook, the job scripts queue
// each event's delivery, a consumer signs and sends it; a receiver that fails
// first gets it again with the same webhook-id; a canceled job reports its end.
import { MESSAGES } from '@foretell/shared';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { startReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhook-receiver.js';
import { waitFor } from '../support/wait-for.js';

const SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
const WEBHOOKS = { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' };

interface Envelope {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

/** The payload, after checking its signature as a receiver would. */
function verified(request: ReceivedRequest): Envelope {
  const headers = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]),
  );
  return new Webhook(SECRET).verify(request.body, headers) as Envelope;
}

describe('webhooks across processes', () => {
  const apps = useAppsOnPrefix('e2e-hooks', { gated: true });

  async function receiver(respond: Parameters<typeof startReceiver>[0]): Promise<WebhookReceiver> {
    const started = await startReceiver(respond);
    apps.onCleanup(() => started.close());
    return started;
  }

  it('start and completed arrive signed; a 503 is retried with the same webhook-id', async () => {
    let failedOnce = false;
    const hooks = await receiver((response, request) => {
      const failFirst = !failedOnce && request.body.includes('prediction.completed');
      if (failFirst) failedOnce = true;
      response.writeHead(failFirst ? 503 : 204).end();
    });
    const { client } = await apps.startApi(WEBHOOKS);
    const consumer = await apps.startConsumer(WEBHOOKS);
    const response = await client.post(
      { input: 'hooked', webhook: hooks.url('/hooks').href, webhook_events_filter: ['start', 'completed'] },
      { 'async-mode': 'true' },
    );
    expect(response.status).toBe(202);
    const id = (JSON.parse(response.body) as { prediction_id: string }).prediction_id;

    await waitFor(() => hooks.requests.length >= 1, { what: 'the start webhook', unless: consumer.assertRunning });
    const start = verified(hooks.requests[0]!);
    expect(start).toMatchObject({
      type: 'prediction.started',
      data: { prediction_id: id, status: 'processing', input: 'hooked' },
    });
    expect(hooks.requests[0]?.url).toBe('/hooks');

    await apps.gate.release(1);
    await waitFor(() => hooks.requests.length >= 3, { what: 'completed, twice', unless: consumer.assertRunning });
    const [, first, second] = hooks.requests;
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    expect(first?.headers['webhook-id']).not.toBe(hooks.requests[0]?.headers['webhook-id']);
    const completed = verified(second!);
    expect(completed.type).toBe('prediction.completed');
    expect(completed.data).toMatchObject({ prediction_id: id, status: 'succeeded', input: 'hooked' });
    expect(completed.data.output).toEqual((JSON.parse((await client.get(id)).body) as { output: unknown }).output);
    // Settled: nothing more is sent, nothing is left in Redis.
    await waitFor(async () => (await apps.redis.zcard(apps.keys.webhooks)) === 0, { what: 'the set emptied' });
    expect(hooks.requests).toHaveLength(3);
  });

  it('a canceled job reports its end; the API refuses a private target without WEBHOOK_ALLOW_PRIVATE', async () => {
    const hooks = await receiver((response) => response.writeHead(200).end());
    const { client } = await apps.startApi(WEBHOOKS);
    const consumer = await apps.startConsumer(WEBHOOKS);
    // Another job held beside it: the cancel must end the hooked one only.
    await client.submit('held beside it', {});
    const hooked = await client.post({ input: 'canceled', webhook: hooks.url().href }, { 'async-mode': 'true' });
    const hookedId = (JSON.parse(hooked.body) as { prediction_id: string }).prediction_id;
    await apps.gate.held(2, { unless: consumer.assertRunning });
    expect((await client.send({ method: 'POST', url: `/predict/${hookedId}/cancel` })).status).toBe(200);
    await waitFor(() => hooks.requests.length === 1, { what: 'the completed webhook', unless: consumer.assertRunning });
    expect(verified(hooks.requests[0]!)).toMatchObject({
      type: 'prediction.completed',
      data: { prediction_id: hookedId, status: 'canceled' },
    });
    expect((await client.get(hookedId)).body).toBe(
      JSON.stringify({ error: MESSAGES.canceled, prediction_id: hookedId, status: 'canceled' }),
    );

    const strict = await apps.startApi({ WEBHOOK_SECRET: SECRET });
    const refused = await strict.client.post({ input: 'x', webhook: hooks.url().href }, { 'async-mode': 'true' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'INVALID_WEBHOOK' });
  });
});
