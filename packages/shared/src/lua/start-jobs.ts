/**
 * start-jobs: marks a batch of jobs `processing` and counts their attempt,
 * skipping those whose hash is gone (expired before a consumer reached them)
 * or that already finished (redeliveries). One call per batch read from the
 * stream. Atomic, so a job hash is never recreated without its TTL and a
 * finished job is never reopened.
 *
 * KEYS     the jobs' hashes
 * ARGV[1]  now, Unix ms
 * Returns  per job, in order: its attempt number (>= 1); 0 when its hash is
 *          missing; -1 when it already succeeded or failed.
 */
export const START_JOBS_LUA = `
local attempts = {}
for i, key in ipairs(KEYS) do
  local status = redis.call('HGET', key, 'status')
  if not status then
    attempts[i] = 0
  elseif status == 'succeeded' or status == 'failed' then
    attempts[i] = -1
  else
    redis.call('HSET', key, 'status', 'processing', 'started', ARGV[1])
    attempts[i] = redis.call('HINCRBY', key, 'attempts', 1)
  end
end
return attempts
`;

export const START_JOB_MISSING = 0;
export const START_JOB_ALREADY_FINISHED = -1;
