/**
 * start-job: marks a job `processing` and counts the attempt, unless its hash
 * is gone (expired before a consumer reached it) or it already finished (a
 * redelivery). Atomic, so a job hash is never recreated without its TTL and a
 * finished job is never reopened.
 *
 * KEYS[1]  job hash
 * ARGV[1]  now, Unix ms
 * Returns  the attempt number (>= 1); 0 when the hash is missing; -1 when the
 *          job already succeeded or failed.
 */
export const START_JOB_LUA = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'succeeded' or status == 'failed' then return -1 end
redis.call('HSET', KEYS[1], 'status', 'processing', 'started', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
`;

export const START_JOB_MISSING = 0;
export const START_JOB_ALREADY_FINISHED = -1;
