/**
 * retry-job: puts a job that failed an attempt back to `queued` and schedules
 * it on the retries sorted set, then acks and deletes its stream entry, in
 * one atomic step. While it waits it holds no stream entry and no consumer
 * slot; promote-retries re-adds it to the stream when it is due. A job whose
 * hash is gone or that already finished is only released.
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  retries sorted set
 * ARGV[1]  consumer group
 * ARGV[2]  stream entry id
 * ARGV[3]  job id
 * ARGV[4]  the error of this attempt (kept as `reason`)
 * ARGV[5]  when the retry is due, Unix ms
 * Returns  1 scheduled; 0 hash missing; -1 already finished.
 */
export const RETRY_JOB_LUA = `
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'succeeded' or status == 'failed' then return -1 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'reason', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return 1
`;
