/**
 * finish-job: stores a job's outcome and releases its stream entry in one
 * atomic step: HSET the outcome, renew the TTL, XACK and XDEL the entry,
 * PUBLISH the id; a failed job is also appended to the dead-letter stream.
 * The outcome is written only once: a redelivered job whose outcome is
 * already stored (or whose hash expired) is released without a write.
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  dead-letter stream
 * ARGV[1]  consumer group
 * ARGV[2]  stream entry id
 * ARGV[3]  job id
 * ARGV[4]  outcome: 'succeeded' or 'failed'
 * ARGV[5]  the result (succeeded) or the reason (failed)
 * ARGV[6]  now, Unix ms
 * ARGV[7]  TTL in seconds from now
 * ARGV[8]  pub/sub channel announcing finished ids
 * Returns  1 written; 0 hash missing; -1 outcome already stored.
 */
export const FINISH_JOB_LUA = `
local function release()
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then release() return 0 end
if status == 'succeeded' or status == 'failed' then release() return -1 end
if ARGV[4] == 'succeeded' then
  redis.call('HSET', KEYS[1], 'status', 'succeeded', 'result', ARGV[5], 'finished', ARGV[6])
else
  redis.call('HSET', KEYS[1], 'status', 'failed', 'reason', ARGV[5], 'finished', ARGV[6])
  local job = redis.call('HMGET', KEYS[1], 'input', 'attempts')
  redis.call('XADD', KEYS[3], '*', 'id', ARGV[3], 'input', job[1], 'reason', ARGV[5], 'attempts', job[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[7])
release()
redis.call('PUBLISH', ARGV[8], ARGV[3])
return 1
`;

export const FINISH_JOB_WRITTEN = 1;
export const FINISH_JOB_MISSING = 0;
export const FINISH_JOB_ALREADY_FINISHED = -1;
