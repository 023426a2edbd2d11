import { luaScript } from './lua-prelude.js';

/**
 * finish-jobs: stores the outcomes of a batch of jobs and releases their
 * stream entries, in one atomic step: first the entries are acked and
 * deleted (their bytes leave the backlog count), then per job HSET the
 * outcome, renew the TTL, PUBLISH the id, take it out of its owner's set (a
 * failed job is also appended to the dead-letter stream, trimmed to about
 * its cap). A finished job keeps `finished` but drops `created` and
 * `started` (and a success the `reason` of an earlier attempt): fewer fields
 * are what keeps a small job's hash in a smaller allocation (see the
 * README's memory figure); the queue and run times are in the consumer's
 * debug log. An outcome is written only once: a job whose outcome is
 * already stored (a redelivery) or whose hash expired is only released. The
 * outcome 'release' writes nothing about the job at all (its entry is a
 * redelivery of a job that is gone or done: whatever its hash says by now,
 * e.g. queued again by a dead-letter replay, stays). One call serves all the
 * jobs that finished in the same tick. Runs at maxmemory too: it is how a
 * full Redis drains.
 *
 * KEYS[1]    jobs stream
 * KEYS[2]    dead-letter stream
 * KEYS[3]    backlog bytes counter
 * KEYS[4..]  the jobs' hashes and their owners' sets, each once, in any order
 * ARGV[1]    consumer group
 * ARGV[2]    TTL in seconds from now
 * ARGV[3]    pub/sub channel announcing finished ids
 * ARGV[4]    dead-letter stream cap (approximate: MAXLEN ~)
 * ARGV[5..]  per job, eight values: stream entry id, job id, the index in
 *            KEYS of its hash, the index of its owner's set (0: none), outcome
 *            ('succeeded', 'failed' or 'release'), result or the client's
 *            reason, the reason kept in the dead-letter stream, the bytes of
 *            the entry's input
 * Returns    per job, in order: 1 written; 0 hash missing; -1 outcome
 *            already stored; 2 released (outcome 'release').
 */
export const FINISH_JOBS_LUA = luaScript(
  { allowOom: true, helpers: ['clock', 'release'] },
  `
local stream, dead, bytes_key, group, channel = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3]
local ttl = int_arg(ARGV[2], 'TTL', 1, MAX_TTL)
local dead_cap = int_arg(ARGV[4], 'dead-letter cap', 1, MAX_COUNT)
groups_of(5, 8)
local entries, bytes = {}, {}
for at = 5, #ARGV, 8 do
  local outcome = ARGV[at + 4]
  if outcome ~= 'succeeded' and outcome ~= 'failed' and outcome ~= 'release' then
    fail('unknown outcome ' .. tostring(outcome))
  end
  key_at(ARGV[at + 2], 'job hash index', true)
  key_at(ARGV[at + 3], 'owner set index', false)
  entries[#entries + 1] = ARGV[at]
  bytes[#bytes + 1] = int_arg(ARGV[at + 7], 'entry bytes', 0, MAX_COUNT)
end

release_entries(stream, group, bytes_key, entries, bytes)
local now = ms_text(now_ms())
local written = {}
for at = 5, #ARGV, 8 do
  local id, hash, outcome = ARGV[at + 1], KEYS[tonumber(ARGV[at + 2])], ARGV[at + 4]
  local owner = KEYS[tonumber(ARGV[at + 3])]
  local status = outcome ~= 'release' and redis.call('HGET', hash, 'status')
  if outcome == 'release' then
    -- A member whose hash is gone is no job of its owner any more.
    if owner and redis.call('EXISTS', hash) == 0 then redis.call('ZREM', owner, id) end
    written[#written + 1] = 2
  elseif not status then
    if owner then redis.call('ZREM', owner, id) end
    written[#written + 1] = 0
  elseif status == 'succeeded' or status == 'failed' then
    written[#written + 1] = -1
  else
    if outcome == 'succeeded' then
      redis.call('HSET', hash, 'status', 'succeeded', 'result', ARGV[at + 5], 'finished', now)
      redis.call('HDEL', hash, 'created', 'started', 'reason')
    else
      redis.call('HSET', hash, 'status', 'failed', 'reason', ARGV[at + 5], 'finished', now)
      redis.call('HDEL', hash, 'created', 'started')
      local stored = redis.call('HMGET', hash, 'input', 'attempts', 'owner')
      local letter = {'XADD', dead, 'MAXLEN', '~', dead_cap, '*', 'id', id, 'input', stored[1] or '',
        'reason', ARGV[at + 6], 'attempts', stored[2] or '0'}
      if stored[3] then
        letter[#letter + 1] = 'owner'
        letter[#letter + 1] = stored[3]
      end
      redis.call(unpack(letter))
    end
    redis.call('EXPIRE', hash, ttl)
    redis.call('PUBLISH', channel, id)
    if owner then redis.call('ZREM', owner, id) end
    written[#written + 1] = 1
  end
end
return written
`,
);

export const FINISH_JOB_WRITTEN = 1;
export const FINISH_JOB_MISSING = 0;
export const FINISH_JOB_ALREADY_FINISHED = -1;
export const FINISH_JOB_RELEASED = 2;
