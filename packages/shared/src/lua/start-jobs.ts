import { luaScript } from './lua-prelude.js';

/**
 * start-jobs: marks a batch of jobs `processing`, counts their attempt and
 * renews their TTL (it counts from the start, so a job never expires while a
 * consumer works on it), skipping those whose hash is gone (expired before a
 * consumer reached them), that already finished (redeliveries), or whose
 * attempts are spent (its consumers kept dying: the caller fails it, and
 * the count stays at the attempts made). One call per batch read from the
 * stream. Atomic, so a job hash is never recreated without its TTL and a
 * finished job is never reopened. Runs at maxmemory too.
 *
 * KEYS      the jobs' hashes and their owners' sets, each once, in any order
 * ARGV[1]   TTL in seconds
 * ARGV[2]   attempts allowed per job
 * ARGV[3..] per job, three values: job id, the index in KEYS of its hash,
 *           the index of its owner's set (0: none)
 * Returns   per job, in order: its attempt number (>= 1); 0 when its hash is
 *           missing; -1 when it already succeeded or failed; -2 when its
 *           attempts are spent.
 */
export const START_JOBS_LUA = luaScript(
  { allowOom: true, helpers: ['clock', 'owners'] },
  `
local ttl = int_arg(ARGV[1], 'TTL', 1, MAX_TTL)
local max_attempts = int_arg(ARGV[2], 'attempts allowed', 1, MAX_COUNT)
groups_of(3, 3)
for at = 3, #ARGV, 3 do
  key_at(ARGV[at + 1], 'job hash index', true)
  key_at(ARGV[at + 2], 'owner set index', false)
end

local now = now_ms()
local started = ms_text(now)
local attempts = {}
for at = 3, #ARGV, 3 do
  local hash, owner = KEYS[tonumber(ARGV[at + 1])], KEYS[tonumber(ARGV[at + 2])]
  local job = redis.call('HMGET', hash, 'status', 'attempts')
  local status, made = job[1], tonumber(job[2]) or 0
  if not status then
    attempts[#attempts + 1] = 0
  elseif status == 'succeeded' or status == 'failed' then
    attempts[#attempts + 1] = -1
  elseif made >= max_attempts then
    attempts[#attempts + 1] = -2
  else
    attempts[#attempts + 1] = made + 1
    redis.call('HSET', hash, 'status', 'processing', 'started', started, 'attempts', tostring(made + 1))
    redis.call('EXPIRE', hash, ttl)
    if owner then owner_touch(owner, ARGV[at], now, ttl) end
  end
end
return attempts
`,
);

export const START_JOB_MISSING = 0;
export const START_JOB_ALREADY_FINISHED = -1;
export const START_JOB_ATTEMPTS_SPENT = -2;
