/**
 * finish-jobs: stores the outcomes of a batch of jobs and releases their
 * stream entries, in one atomic step: per job HSET the outcome, renew the
 * TTL, PUBLISH the id (a failed job is also appended to the dead-letter
 * stream); then one XACK and one XDEL for all the entries. A finished job
 * keeps `finished` but drops `created` and `started`: two fewer fields are what
 * keeps a small job's hash in a smaller allocation (see the README's memory
 * figure); the queue and run times are in the consumer's debug log. An outcome is
 * written only once: a job whose outcome is already stored (a redelivery) or
 * whose hash expired is only released. One call serves all the jobs that
 * finished in the same tick.
 *
 * KEYS[1]    jobs stream
 * KEYS[2]    dead-letter stream
 * KEYS[3..]  the jobs' hashes, in the order of the groups of ARGV below
 * ARGV[1]    consumer group
 * ARGV[2]    now, Unix ms
 * ARGV[3]    TTL in seconds from now
 * ARGV[4]    pub/sub channel announcing finished ids
 * ARGV[5..]  per job, four values: stream entry id, job id, outcome
 *            ('succeeded' or 'failed'), result or reason
 * Returns    per job, in order: 1 written; 0 hash missing; -1 outcome already stored.
 */
export const FINISH_JOBS_LUA = `
local written = {}
local entries = {}
for i = 3, #KEYS do
  local key = KEYS[i]
  local at = 5 + (i - 3) * 4
  local entry, id, outcome, value = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  entries[#entries + 1] = entry
  local status = redis.call('HGET', key, 'status')
  if not status then
    written[#written + 1] = 0
  elseif status == 'succeeded' or status == 'failed' then
    written[#written + 1] = -1
  else
    if outcome == 'succeeded' then
      redis.call('HSET', key, 'status', 'succeeded', 'result', value, 'finished', ARGV[2])
    else
      redis.call('HSET', key, 'status', 'failed', 'reason', value, 'finished', ARGV[2])
      local job = redis.call('HMGET', key, 'input', 'attempts')
      redis.call('XADD', KEYS[2], '*', 'id', id, 'input', job[1], 'reason', value, 'attempts', job[2])
    end
    redis.call('HDEL', key, 'created', 'started')
    redis.call('EXPIRE', key, ARGV[3])
    redis.call('PUBLISH', ARGV[4], id)
    written[#written + 1] = 1
  end
end
redis.call('XACK', KEYS[1], ARGV[1], unpack(entries))
redis.call('XDEL', KEYS[1], unpack(entries))
return written
`;

export const FINISH_JOB_WRITTEN = 1;
export const FINISH_JOB_MISSING = 0;
export const FINISH_JOB_ALREADY_FINISHED = -1;
