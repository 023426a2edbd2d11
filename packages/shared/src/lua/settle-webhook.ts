import { luaScript } from './lua-prelude.js';

/**
 * settle-webhook: ends one claimed delivery attempt, atomically, and only if
 * the claim still holds: the member is there with the score the claim gave it
 * (its lease end). A delivery whose lease ran out may have been taken over
 * by another consumer (same member, a later score), or settled by it
 * already (gone): then nothing is written, and the other consumer's settle
 * is the one that counts, so a delivery is never settled twice. Otherwise
 * the member leaves the set and, by `action`:
 *
 * - `done`: nothing more (delivered, or the receiver answered 410 Gone);
 * - `retry`: the next attempt's member is added, due at Redis's now + delay;
 * - `fail`: failed for good, recorded on the failures stream (capped,
 *   approximately: `XADD MAXLEN ~`).
 *
 * Runs at maxmemory too: it replaces a member, or moves it to the capped stream.
 *
 * KEYS[1]  webhook deliveries sorted set
 * KEYS[2]  webhook failures stream
 * ARGV[1]  the member as claimed
 * ARGV[2]  its lease end, as claim-webhooks answered it
 * ARGV[3]  action: done | retry | fail
 * retry:   ARGV[4] the next attempt's member, ARGV[5] its delay, ms
 * fail:    ARGV[4] failures stream cap, ARGV[5…] the entry's field/value
 *          pairs (id, event, url, wid, attempts, error; see webhook-deliverer.ts)
 * Returns  1 when settled; 0 when the claim no longer held (nothing written).
 */
export const SETTLE_WEBHOOK_LUA = luaScript(
  { allowOom: true },
  `
local deliveries, failures = KEYS[1], KEYS[2]
local member, action = ARGV[1], ARGV[3]
local lease_end = int_arg(ARGV[2], 'lease end', 0, MAX_COUNT)
if not member or member == '' then fail('expected the member to settle') end
if action == 'retry' then
  if not ARGV[4] or ARGV[4] == '' then fail("expected the next attempt's member") end
  int_arg(ARGV[5], 'delay', 0, MAX_COUNT)
elseif action == 'fail' then
  int_arg(ARGV[4], 'failures cap', 1, MAX_COUNT)
  if #ARGV < 6 or #ARGV % 2 ~= 0 then fail('expected field/value pairs for the failure entry') end
elseif action ~= 'done' then
  fail('action must be done, retry or fail (got ' .. tostring(action) .. ')')
end
local score = redis.call('ZSCORE', deliveries, member)
if not score or tonumber(score) ~= lease_end then return 0 end
redis.call('ZREM', deliveries, member)
if action == 'retry' then
  redis.call('ZADD', deliveries, ms_text(now_ms() + tonumber(ARGV[5])), ARGV[4])
elseif action == 'fail' then
  redis.call('XADD', failures, 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
end
return 1
`,
);
