import { luaScript } from './lua-prelude.js';

/**
 * heartbeat-entries: resets the idle time of the entries a consumer is
 * running (XCLAIM to itself, JUSTID: no delivery counted), so that a long
 * model call is never mistaken for a dead consumer, and renews the TTL of
 * their jobs while they are `processing`, so that a job never expires while
 * it is worked on. Only entries still pending under this consumer are
 * touched: one that another consumer reclaimed (this one stalled) stays
 * that consumer's, atomically (checked with XPENDING in the same script).
 * Runs at maxmemory too.
 *
 * KEYS[1]   jobs stream
 * KEYS[2..] the jobs' hashes and their owners' sets, each once, in any order
 * ARGV[1]   consumer group
 * ARGV[2]   this consumer's name
 * ARGV[3]   TTL in seconds
 * ARGV[4..] per entry, four values: stream entry id, job id ('' when the
 *           entry names no job), the index in KEYS of its hash (0: none),
 *           the index of its owner's set (0: none)
 * Returns   the entry ids that are no longer this consumer's (left alone).
 */
export const HEARTBEAT_ENTRIES_LUA = luaScript(
  { allowOom: true },
  `
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local ttl = int_arg(ARGV[3], 'TTL', 1, MAX_TTL)
local count = groups_of(4, 4)
local entries = {}
for i = 1, count do
  local at = 4 + (i - 1) * 4
  entries[i] = {
    entry = ARGV[at],
    id = ARGV[at + 1],
    hash = key_at(ARGV[at + 2], 'job hash index', false),
    owner = key_at(ARGV[at + 3], 'owner set index', false),
  }
end

local now = now_ms()
local claim = {'XCLAIM', stream, group, consumer, '0'}
local lost = {}
for _, e in ipairs(entries) do
  if #redis.call('XPENDING', stream, group, e.entry, e.entry, 1, consumer) == 1 then
    claim[#claim + 1] = e.entry
    if e.hash and redis.call('HGET', e.hash, 'status') == 'processing' then
      redis.call('EXPIRE', e.hash, ttl)
      if e.owner then owner_touch(e.owner, e.id, now, ttl) end
    end
  else
    lost[#lost + 1] = e.entry
  end
end
if #claim > 5 then
  claim[#claim + 1] = 'JUSTID'
  redis.call(unpack(claim))
end
return lost
`,
);
