// The scripts that start, finish and cancel jobs queue their webhook
// deliveries (the consumers' deliverer sends them: webhook-deliverer.test.ts):
// one per event the job asked for, in the same atomic step as the event.
import {
  CANCEL_JOB_LUA,
  createDeadLetters,
  decodeWebhookDelivery,
  ENQUEUE_JOB_LUA,
  enqueueJobArgs,
  NonRetryableError,
  type JobWebhook,
  type Model,
  type WebhookDelivery,
} from '@foretell/shared';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { heldModel } from '../../../test/support/held-model.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

const URL = 'https://hooks.example.com/foretell';

async function enqueue(h: Harness, input: string, webhook?: JobWebhook): Promise<string> {
  const id = randomUUID();
  const call = { id, input, ttlSeconds: 3600, maxQueueLength: 0, maxQueueBytes: 0, ...(webhook && { webhook }) };
  await h.redis.eval(ENQUEUE_JOB_LUA, ...enqueueJobArgs(h.keys, call));
  return id;
}

async function deliveries(h: Harness): Promise<(WebhookDelivery & { due: number })[]> {
  const members = await h.redis.zrange(h.keys.webhooks, 0, -1, 'WITHSCORES');
  const found: (WebhookDelivery & { due: number })[] = [];
  for (let at = 0; at < members.length; at += 2) {
    const delivery = decodeWebhookDelivery(members[at] ?? '');
    if (!delivery) throw new Error(`not a delivery: ${members[at]}`);
    found.push({ ...delivery, due: Number(members[at + 1]) });
  }
  return found;
}

const status = (h: Harness, id: string) => h.redis.hget(h.keys.job(id), 'status');

describe('webhook deliveries queued by the job scripts', () => {
  it('start and completed, each once, with ids of their own, due at once', async () => {
    const h = harnesses.create();
    await h.consumer.start();
    const before = Date.now();
    const id = await enqueue(h, 'both events', { url: URL, events: ['start', 'completed'] });
    await waitFor(async () => (await status(h, id)) === 'succeeded', { what: 'the job' });
    const queued = await deliveries(h);
    expect(queued.map(({ event }) => event).sort()).toEqual(['completed', 'start']);
    for (const delivery of queued) {
      expect(delivery).toMatchObject({ id, url: URL, attempt: 1 });
      expect(delivery.wid).toMatch(new RegExp(`^msg_${id}_${delivery.event}_\\d+$`));
      expect(delivery.due).toBeGreaterThanOrEqual(before - 1000);
      expect(delivery.due).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(new Set(queued.map(({ wid }) => wid)).size).toBe(2);
  });

  it('only the events asked for: completed by default; none without a webhook', async () => {
    const h = harnesses.create();
    await h.consumer.start();
    const hooked = await enqueue(h, 'completed only', { url: URL, events: ['completed'] });
    const startOnly = await enqueue(h, 'start only', { url: URL, events: ['start'] });
    const plain = await enqueue(h, 'no webhook');
    for (const id of [hooked, startOnly, plain]) {
      await waitFor(async () => (await status(h, id)) === 'succeeded', { what: `job ${id}` });
    }
    const queued = await deliveries(h);
    expect(queued.map(({ id, event }) => [id, event]).sort()).toEqual(
      [
        [hooked, 'completed'],
        [startOnly, 'start'],
      ].sort(),
    );
  });

  it('completed for a job that failed for good, once, after its retries (each attempt a start)', async () => {
    let calls = 0;
    const model: Model = {
      async predict() {
        calls += 1;
        throw calls < 2 ? new Error('transient') : new NonRetryableError('refused');
      },
    };
    const h = harnesses.create({ model, settings: { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } } });
    await h.consumer.start();
    const id = await enqueue(h, 'fails', { url: URL, events: ['start', 'completed'] });
    await waitFor(async () => (await status(h, id)) === 'failed', { what: 'the failure' });
    const events = (await deliveries(h)).map(({ event }) => event).sort();
    expect(events).toEqual(['completed', 'start', 'start']);
  });

  it("marks only a webhook job's stream entry (the scripts read webhook fields for those alone), replayed ones too (retries: the test above)", async () => {
    const model: Model = {
      async predict() {
        throw new NonRetryableError('refused');
      },
    };
    const h = harnesses.create({ model, settings: { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } } });
    const hooked = await enqueue(h, 'hooked', { url: URL, events: ['completed'] });
    const plain = await enqueue(h, 'plain');
    const marks = async () =>
      (await h.redis.xrange(h.keys.jobs, '-', '+')).map(([, fields]) => {
        const at = fields.indexOf('wh');
        return [fields[fields.indexOf('id') + 1], at < 0 ? undefined : fields[at + 1]];
      });
    expect(await marks()).toEqual([
      [hooked, '1'],
      [plain, undefined],
    ]);
    await h.consumer.start();
    for (const id of [hooked, plain]) {
      await waitFor(async () => (await status(h, id)) === 'failed', { what: `job ${id} dead-lettered` });
    }
    expect((await deliveries(h)).map(({ id, event }) => [id, event])).toEqual([[hooked, 'completed']]);
    await h.redis.del(h.keys.webhooks);

    // Replayed, both run (and fail) again: only the webhook job's entry is marked, and only it is announced.
    await h.consumer.close();
    const dead = createDeadLetters(h.redis, h.keys, 3600);
    for (const [entryId] of await h.redis.xrange(h.keys.dead, '-', '+')) await dead.replay(entryId);
    expect((await marks()).sort()).toEqual(
      [
        [hooked, '1'],
        [plain, undefined],
      ].sort(),
    );
  });

  it('completed for a canceled job, queued or running, and nothing more when its model then returns', async () => {
    const model = heldModel();
    const h = harnesses.create({ model });
    const queued = await enqueue(h, 'canceled queued', { url: URL, events: ['completed'] });
    const cancel = (id: string) =>
      h.redis.eval(
        CANCEL_JOB_LUA,
        3,
        h.keys.job(id),
        h.keys.retries,
        h.keys.webhooks,
        id,
        '3600',
        h.keys.done,
        h.keys.canceled,
        '',
      );
    await cancel(queued);
    await h.consumer.start();
    const running = await enqueue(h, 'canceled running', { url: URL, events: ['completed'] });
    await model.called;
    await cancel(running);
    await waitFor(() => h.consumer.stats.canceled === 1 && h.consumer.inFlight() === 0, { what: 'the abort' });
    await waitFor(async () => (await h.redis.xlen(h.keys.jobs)) === 0, { what: 'both entries released' });
    const queuedDeliveries = await deliveries(h);
    expect(queuedDeliveries.map(({ id, event }) => [id, event]).sort()).toEqual(
      [
        [queued, 'completed'],
        [running, 'completed'],
      ].sort(),
    );
  });
});
