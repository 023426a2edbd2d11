// Webhooks against the built API and consumer processes and a real receiver
// on 127.0.0.1: the API checks and stores the webhook, the job scripts queue
// each event's delivery, a consumer signs and sends it; a receiver that fails
// first gets it again with the same webhook-id; one that was down gets it once
// it is back; a consumer killed mid-delivery leaves it to another, and after
// a 2xx nothing is sent again; a canceled job reports its end.
import { decodeWebhookDelivery, MESSAGES } from '@foretell/shared';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { closedPort, startReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhook-receiver.js';
import type { PredictClient } from '../support/predict-client.js';
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

  async function receiver(respond: Parameters<typeof startReceiver>[0], port = 0): Promise<WebhookReceiver> {
    const started = await startReceiver(respond, { port });
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

  /** An async job with a webhook for `completed`; its id. */
  async function submitHooked(client: PredictClient, input: string, webhook: string): Promise<string> {
    const response = await client.post({ input, webhook }, { 'async-mode': 'true' });
    expect(response.status).toBe(202);
    return (JSON.parse(response.body) as { prediction_id: string }).prediction_id;
  }

  /** The deliveries waiting in Redis, decoded. */
  async function waiting() {
    const members = await apps.redis.zrange(apps.keys.webhooks, 0, -1);
    return members.map((member) => decodeWebhookDelivery(member));
  }

  it('a receiver that was down gets the delivery once it is back on its port, and only once', async () => {
    const port = await closedPort();
    const { client } = await apps.startApi(WEBHOOKS);
    const consumer = await apps.startConsumer(WEBHOOKS);
    const id = await submitHooked(client, 'while the receiver is down', `http://127.0.0.1:${port}/hooks`);
    await apps.gate.release(1);
    // The first attempt is refused (nothing listens): the delivery waits for its second.
    await waitFor(async () => (await waiting()).some((delivery) => (delivery?.attempt ?? 0) >= 2), {
      what: 'the refused attempt retried',
      unless: consumer.assertRunning,
    });
    const hooks = await receiver((response) => response.writeHead(204).end(), port);
    await waitFor(() => hooks.requests.length === 1, { what: 'the delivery', unless: consumer.assertRunning });
    expect(verified(hooks.requests[0]!)).toMatchObject({
      type: 'prediction.completed',
      data: { prediction_id: id, status: 'succeeded' },
    });
    await waitFor(async () => (await apps.redis.zcard(apps.keys.webhooks)) === 0, { what: 'the set emptied' });
    expect(hooks.requests).toHaveLength(1);
  });

  it('a consumer SIGKILLed mid-delivery: another sends it when the lease ends, with the same webhook-id; after its 2xx, nothing more', async () => {
    // Short attempts, so that the lease (attempt + DNS + margin) ends in about 10.5 s.
    const env = { ...WEBHOOKS, WEBHOOK_TIMEOUT_MS: '500' };
    let holdFirst = true;
    const hooks = await receiver((response) => {
      // The first delivery is never answered: its consumer dies while it waits.
      if (holdFirst) holdFirst = false;
      else response.writeHead(200).end();
    });
    const { client } = await apps.startApi(env);
    const first = await apps.startConsumer(env);
    const id = await submitHooked(client, 'killed mid-delivery', hooks.url('/hooks').href);
    await apps.gate.release(1);
    await waitFor(() => hooks.requests.length === 1, { what: 'the first attempt', unless: first.assertRunning });
    await first.kill();
    // Leased to the dead consumer: still in the set, for another one to send.
    expect(await apps.redis.zcard(apps.keys.webhooks)).toBe(1);

    const second = await apps.startConsumer(env);
    await waitFor(() => hooks.requests.length === 2, {
      what: 'the delivery sent again after the lease',
      unless: second.assertRunning,
    });
    const [held, resent] = hooks.requests;
    expect(resent?.headers['webhook-id']).toBe(held?.headers['webhook-id']);
    expect(verified(resent!)).toMatchObject({ type: 'prediction.completed', data: { prediction_id: id } });
    // Settled by its 2xx: nothing left that could be sent again.
    await waitFor(async () => (await apps.redis.zcard(apps.keys.webhooks)) === 0, {
      what: 'the delivery settled',
      unless: second.assertRunning,
    });
    expect(await apps.redis.exists(apps.keys.webhookFailures)).toBe(0);
    expect(hooks.requests).toHaveLength(2);
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
