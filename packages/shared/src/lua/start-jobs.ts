import { luaScript } from './lua-prelude.js';

/**
 * start-jobs: marks a batch of jobs `processing`, counts their attempt and
 * renews their TTL (it counts from the start, so a job never expires while a
 * consumer works on it), skipping those whose hash is gone (expired before a
 * consumer reached them), that already finished (redeliveries), or whose
 * attempts are spent (its consumers kept dying: the caller fails it, and
 * the count stays at the attempts made). One call per batch read from the
 * stream. Atomic, so a job hash is never recreated without its TTL and a
 * finished job is never reopened. Each job started is announced on the
 * started channel (after its hash says `processing`, so a reader woken by
 * the announcement sees it), and its `start` webhook queued if it has one.
 * Runs at maxmemory too. One key and no argument per job (the hot path);
 * what only some jobs have (an owner, a webhook) comes after, tagged.
 *
 * KEYS[1..n]  the jobs' hashes, in order
 * KEYS[n+1]   webhook deliveries set: a job with a webhook for `start` gets one
 * KEYS[n+2..] their owners' sets, each once
 * ARGV[1]     TTL in seconds
 * ARGV[2]     attempts allowed per job
 * ARGV[3]     job hash key prefix: a job's id is its hash key after it
 * ARGV[4]     n, the number of jobs
 * ARGV[5]     pub/sub channel announcing started ids
 * ARGV[6..]   then three values per extra: a job's position (1..n) and
 *             'owner' with the index in KEYS of its owner's set, or
 *             'webhook' with '' (its entry says it has one: only then are
 *             the hash's webhook fields read)
 * Returns     per job, in order: its attempt number (>= 1); 0 when its hash
 *             is missing; -1 when it already succeeded or failed; -2 when
 *             its attempts are spent.
 */
export const START_JOBS_LUA = luaScript(
  { allowOom: true },
  `
local ttl = int_arg(ARGV[1], 'TTL', 1, MAX_TTL)
local max_attempts = int_arg(ARGV[2], 'attempts allowed', 1, MAX_COUNT)
local prefix = ARGV[3]
local count = int_arg(ARGV[4], 'number of jobs', 0, #KEYS - 1)
local webhooks = KEYS[count + 1]
local channel = ARGV[5]
if not channel or channel == '' then fail('no started channel') end
local extras = read_extras(6, count, {'owner', 'webhook'})
local owners, hooks = extras.owner, extras.webhook
for position in pairs(owners) do
  if string.sub(KEYS[position], 1, #prefix) ~= prefix then fail('job hash without the prefix: ' .. KEYS[position]) end
end

local now = now_ms()
local started = ms_text(now)
local attempts = {}
for i = 1, count do
  local hash = KEYS[i]
  local job = redis.call('HMGET', hash, 'status', 'attempts')
  local status, made = job[1], tonumber(job[2]) or 0
  if not status then
    attempts[i] = 0
  elseif is_final(status) then
    attempts[i] = -1
  elseif made >= max_attempts then
    attempts[i] = -2
  else
    attempts[i] = made + 1
    redis.call('HSET', hash, 'status', 'processing', 'started', started, 'attempts', tostring(made + 1))
    redis.call('EXPIRE', hash, ttl)
    if owners[i] then owner_touch(owners[i], string.sub(hash, #prefix + 1), now, ttl) end
    local id = string.sub(hash, #prefix + 1)
    redis.call('PUBLISH', channel, id)
    if hooks[i] then
      local hook = redis.call('HMGET', hash, 'webhook', 'webhook_events')
      add_webhook(webhooks, id, 'start', hook[1], hook[2], now)
    end
  end
end
return attempts
`,
);

export const START_JOB_MISSING = 0;
export const START_JOB_ALREADY_FINISHED = -1;
export const START_JOB_ATTEMPTS_SPENT = -2;
