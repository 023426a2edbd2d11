import { luaScript } from './lua-prelude.js';

/**
 * Most deliveries one claim takes: WEBHOOK_CONCURRENCY's bound, and few
 * enough that the ZADD of their new scores stays far below Lua's limit on
 * unpacked arguments (two per member).
 */
export const MAX_WEBHOOK_CLAIM = 1000;

/**
 * claim-webhooks: takes the webhook deliveries that are due (by Redis's
 * clock) and leases them to the caller, atomically: each is re-scored to
 * the lease's end, so no other consumer takes it while it is being sent, and
 * if the caller dies, it is due again when the lease ends (a visibility
 * timeout). The lease's end is also the claim's token: settle-webhook
 * settles a delivery only while its score is still that, so a delivery that
 * another consumer took over after the lease ran out is settled once. Runs at
 * maxmemory too: it only re-scores members.
 *
 * KEYS[1]  webhook deliveries sorted set
 * ARGV[1]  most deliveries to take (1 to MAX_WEBHOOK_CLAIM)
 * ARGV[2]  lease, ms
 * Returns  {lease end (Unix ms, as text), member, member, …}: the members
 *          taken, oldest due first, none when nothing is due.
 */
export const CLAIM_WEBHOOKS_LUA = luaScript(
  { allowOom: true },
  `
local deliveries = KEYS[1]
local limit = int_arg(ARGV[1], 'batch size', 1, ${MAX_WEBHOOK_CLAIM})
local lease = int_arg(ARGV[2], 'lease', 1, MAX_COUNT)
local now = now_ms()
local lease_end = ms_text(now + lease)
local due = redis.call('ZRANGE', deliveries, '-inf', ms_text(now), 'BYSCORE', 'LIMIT', 0, limit)
if #due > 0 then
  local scored = {}
  for i, member in ipairs(due) do
    scored[2 * i - 1] = lease_end
    scored[2 * i] = member
  end
  redis.call('ZADD', deliveries, 'XX', unpack(scored))
end
table.insert(due, 1, lease_end)
return due
`,
);

/** What claim-webhooks took: the members, leased until `leaseEndMs` (their settle token). */
export interface WebhookClaim {
  readonly leaseEndMs: number;
  readonly members: readonly string[];
}

export function decodeWebhookClaim(reply: unknown): WebhookClaim {
  const items: unknown[] = Array.isArray(reply) ? reply : [];
  const [leaseEnd, ...members] = items;
  if (typeof leaseEnd !== 'string' || !members.every((member): member is string => typeof member === 'string')) {
    throw new TypeError('claim-webhooks answered something other than its lease end and members');
  }
  return { leaseEndMs: Number(leaseEnd), members };
}
