import { luaScript } from './lua-prelude.js';

/**
 * replay-dead-letter: queues a dead-lettered job again as new (attempts 0,
 * TTL renewed; its hash is recreated if it expired, with its owner) and
 * removes the dead entry, atomically. If the dead entry is gone (replayed
 * by someone else meanwhile) nothing is written. A plain `#!lua` script: it
 * adds a job, so at maxmemory Redis refuses it (OOM).
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  dead-letter stream
 * KEYS[4]  backlog bytes counter
 * KEYS[5]  the owner's set of jobs (only with an owner)
 * ARGV[1]  job id
 * ARGV[2]  input
 * ARGV[3]  TTL in seconds
 * ARGV[4]  dead entry id
 * ARGV[5]  owner id ('' for none)
 * Returns  1 replayed; 0 no such dead entry.
 */
export const REPLAY_DEAD_LETTER_LUA = luaScript(
  { allowOom: false },
  `
local job_key, stream, dead, bytes_key, owner_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, input, entry, owner = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local ttl = int_arg(ARGV[3], 'TTL', 1, MAX_TTL)
if #KEYS ~= (owner ~= '' and 5 or 4) then fail('expected a key per argument, got ' .. #KEYS .. ' keys') end
if not redis.call('XRANGE', dead, entry, entry)[1] then return 0 end

local now = now_ms()
redis.call('HDEL', job_key, 'result', 'reason', 'started', 'finished', 'model')
redis.call('HSET', job_key, 'status', 'queued', 'input', input, 'attempts', '0', 'created', ms_text(now))
if owner_key then redis.call('HSET', job_key, 'owner', owner) end
redis.call('EXPIRE', job_key, ttl)
-- A hash that outlived its dead letter still has its webhook: the replay's events are sent to it too.
local hook = redis.call('HEXISTS', job_key, 'webhook') == 1
add_entry(stream, bytes_key, id, input, owner_key and owner or nil, false, nil, nil, hook)
if owner_key then
  redis.call('ZADD', owner_key, ms_text(now), id)
  extend_expiry(owner_key, now + ttl * 1000)
end
redis.call('XDEL', dead, entry)
return 1
`,
);
