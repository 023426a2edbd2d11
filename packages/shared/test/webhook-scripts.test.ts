// The webhook delivery scripts on the run's real Redis: claim-webhooks leases
// what is due, settle-webhook ends a claim once, and only while it holds.
// Deliveries are queued by the prelude's add_webhook, as the job scripts do.
import { afterEach, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import {
  CLAIM_WEBHOOKS_LUA,
  decodeWebhookClaim,
  decodeWebhookDelivery,
  encodeWebhookDelivery,
  luaScript,
  MAX_WEBHOOK_CLAIM,
  SETTLE_WEBHOOK_LUA,
  type WebhookClaim,
} from '../src/index.js';

/** The job scripts' way of queuing a first attempt: add_webhook, due now by Redis's clock. */
const ADD_WEBHOOK_LUA = luaScript(
  { allowOom: false },
  `add_webhook(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now_ms())
return 1`,
);
const URL = 'https://hooks.example.com/foretell';

const opened: TestRedis[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.cleanup()));
});

function open(): TestRedis {
  const t = testRedis();
  opened.push(t);
  return t;
}

async function add(t: TestRedis, id: string, event = 'completed', events = 'start,completed'): Promise<void> {
  await t.redis.eval(ADD_WEBHOOK_LUA, 1, t.keys.webhooks, id, event, URL, events);
}

async function claim(t: TestRedis, limit: number, leaseMs = 30_000): Promise<WebhookClaim> {
  return decodeWebhookClaim(await t.redis.eval(CLAIM_WEBHOOKS_LUA, 1, t.keys.webhooks, String(limit), String(leaseMs)));
}

async function settle(t: TestRedis, member: string, leaseEndMs: number, ...action: string[]): Promise<unknown> {
  return t.redis.eval(
    SETTLE_WEBHOOK_LUA,
    2,
    t.keys.webhooks,
    t.keys.webhookFailures,
    member,
    String(leaseEndMs),
    ...action,
  );
}

async function redisNowMs(t: TestRedis): Promise<number> {
  const [seconds, micros] = await t.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('claim-webhooks', () => {
  it('leases the due deliveries, oldest first, up to the limit, until now + lease, and leaves the rest', async () => {
    const t = open();
    await add(t, 'job-1');
    await add(t, 'job-2');
    await add(t, 'job-3');
    // Not due for an hour: a retry scheduled later.
    const later = encodeWebhookDelivery({ id: 'job-4', event: 'start', url: URL, wid: 'msg_4', attempt: 2 });
    await t.redis.zadd(t.keys.webhooks, (await redisNowMs(t)) + 3_600_000, later);

    const before = await redisNowMs(t);
    const first = await claim(t, 2, 30_000);
    const after = await redisNowMs(t);

    expect(first.members.map((member) => decodeWebhookDelivery(member)?.id).sort()).toEqual(['job-1', 'job-2']);
    expect(first.leaseEndMs).toBeGreaterThanOrEqual(before + 30_000);
    expect(first.leaseEndMs).toBeLessThanOrEqual(after + 30_000);
    for (const member of first.members)
      expect(await t.redis.zscore(t.keys.webhooks, member)).toBe(String(first.leaseEndMs));
    // Leased: not taken again; the third is, then nothing is due.
    const second = await claim(t, 10);
    expect(second.members.map((member) => decodeWebhookDelivery(member)?.id)).toEqual(['job-3']);
    expect((await claim(t, 10)).members).toEqual([]);
    expect(await t.redis.zcard(t.keys.webhooks)).toBe(4);
  });

  it("writes add_webhook's member in webhook-delivery.ts's format, only for the events the job asked for", async () => {
    const t = open();
    await add(t, 'job-1', 'start', 'completed');
    await add(t, 'job-1', 'completed', 'completed');
    const { members } = await claim(t, 10);
    expect(members).toHaveLength(1);
    expect(decodeWebhookDelivery(members[0] ?? '')).toEqual({
      id: 'job-1',
      event: 'completed',
      url: URL,
      wid: expect.stringMatching(/^msg_job-1_completed_\d+$/) as string,
      attempt: 1,
    });
  });

  it('takes a delivery again once its lease has run out (its consumer died)', async () => {
    const t = open();
    await add(t, 'job-1');
    const first = await claim(t, 1, 1);
    await expect.poll(async () => (await claim(t, 1, 30_000)).members).toEqual(first.members);
  });

  it('refuses a limit or lease out of range, and leases nothing then', async () => {
    const t = open();
    await add(t, 'job-1');
    await expect(claim(t, 0)).rejects.toThrow(/batch size must be an integer from 1 to 1000/);
    await expect(claim(t, MAX_WEBHOOK_CLAIM + 1)).rejects.toThrow(/batch size/);
    await expect(claim(t, 1, 0)).rejects.toThrow(/lease must be an integer/);
    expect(
      Number(await t.redis.zscore(t.keys.webhooks, (await t.redis.zrange(t.keys.webhooks, 0, 0))[0] ?? '')),
    ).toBeLessThanOrEqual(await redisNowMs(t));
  });
});

describe('settle-webhook', () => {
  async function claimed(t: TestRedis): Promise<{ member: string; leaseEndMs: number }> {
    await add(t, 'job-1');
    const { members, leaseEndMs } = await claim(t, 1);
    const [member] = members;
    if (member === undefined) throw new Error('nothing was claimed');
    return { member, leaseEndMs };
  }

  it('done: removes the delivery, and nothing more', async () => {
    const t = open();
    const { member, leaseEndMs } = await claimed(t);
    expect(await settle(t, member, leaseEndMs, 'done')).toBe(1);
    expect(await t.redis.zcard(t.keys.webhooks)).toBe(0);
    expect(await t.redis.exists(t.keys.webhookFailures)).toBe(0);
  });

  it("retry: replaces the delivery with the next attempt's, due at Redis's now + the delay", async () => {
    const t = open();
    const { member, leaseEndMs } = await claimed(t);
    const delivery = decodeWebhookDelivery(member);
    if (delivery === undefined) throw new Error('add_webhook wrote a member that does not parse');
    const next = encodeWebhookDelivery({ ...delivery, attempt: 2 });
    const before = await redisNowMs(t);
    expect(await settle(t, member, leaseEndMs, 'retry', next, '5000')).toBe(1);
    const after = await redisNowMs(t);
    const scored = await t.redis.zrange(t.keys.webhooks, 0, -1, 'WITHSCORES');
    expect(scored[0]).toBe(next);
    expect(Number(scored[1])).toBeGreaterThanOrEqual(before + 5000);
    expect(Number(scored[1])).toBeLessThanOrEqual(after + 5000);
    expect(scored).toHaveLength(2);
  });

  it('fail: removes the delivery and records it on the failures stream, capped', async () => {
    const t = open();
    const { member, leaseEndMs } = await claimed(t);
    const fields = [
      'id',
      'job-1',
      'event',
      'completed',
      'url',
      URL,
      'wid',
      'msg_1',
      'attempts',
      '8',
      'error',
      'HTTP 500',
    ];
    expect(await settle(t, member, leaseEndMs, 'fail', '100', ...fields)).toBe(1);
    expect(await t.redis.zcard(t.keys.webhooks)).toBe(0);
    const entries = await t.redis.xrange(t.keys.webhookFailures, '-', '+');
    expect(entries.map(([, entry]) => entry)).toEqual([fields]);
  });

  it('settles a delivery once: not after another consumer took it over when the lease ran out, nor twice', async () => {
    const t = open();
    await add(t, 'job-1');
    const first = await claim(t, 1, 1);
    const [member] = first.members;
    if (member === undefined) throw new Error('nothing was claimed');
    // The first consumer's lease runs out; another takes the same member over.
    let second: WebhookClaim | undefined;
    await expect
      .poll(async () => {
        second = await claim(t, 1, 30_000);
        return second.members;
      })
      .toEqual([member]);
    if (second === undefined) throw new Error('unreachable');

    expect(await settle(t, member, first.leaseEndMs, 'fail', '100', 'id', 'job-1', 'error', 'late')).toBe(0);
    expect(await t.redis.zscore(t.keys.webhooks, member)).toBe(String(second.leaseEndMs));
    expect(await settle(t, member, second.leaseEndMs, 'done')).toBe(1);
    expect(await settle(t, member, second.leaseEndMs, 'done')).toBe(0);
    expect(await t.redis.exists(t.keys.webhooks, t.keys.webhookFailures)).toBe(0);
  });

  it('refuses bad arguments before writing anything', async () => {
    const t = open();
    const { member, leaseEndMs } = await claimed(t);
    await expect(settle(t, member, leaseEndMs, 'resend')).rejects.toThrow(/action must be done, retry or fail/);
    await expect(settle(t, member, leaseEndMs, 'retry', '', '10')).rejects.toThrow(/next attempt's member/);
    await expect(settle(t, member, leaseEndMs, 'retry', 'next', '-1')).rejects.toThrow(/delay must be an integer/);
    await expect(settle(t, member, leaseEndMs, 'fail', '0', 'id', 'x')).rejects.toThrow(/failures cap/);
    await expect(settle(t, member, leaseEndMs, 'fail', '10', 'id')).rejects.toThrow(/field\/value pairs/);
    await expect(settle(t, '', leaseEndMs, 'done')).rejects.toThrow(/member to settle/);
    expect(await t.redis.zscore(t.keys.webhooks, member)).toBe(String(leaseEndMs));
    expect(await t.redis.exists(t.keys.webhookFailures)).toBe(0);
  });
});
