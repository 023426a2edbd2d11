import { luaScript } from './lua-prelude.js';

/**
 * retry-job: acks and deletes a job's stream entry, puts the job back to
 * `queued` and schedules it on the retries sorted set, in one atomic step.
 * While it waits it holds no stream entry and no consumer slot;
 * promote-retries re-adds it to the stream when it is due. The due time is
 * Redis's clock plus the delay (one clock for every consumer), and the TTL is
 * renewed to last the wait and a whole TTL after it. A job whose hash is gone
 * or that already finished is only released. Runs at maxmemory too.
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  retries sorted set
 * KEYS[4]  backlog bytes counter
 * KEYS[5]  the owner's set of jobs (only when the job has an owner)
 * ARGV[1]  consumer group
 * ARGV[2]  stream entry id
 * ARGV[3]  job id
 * ARGV[4]  the error of this attempt (kept as `reason` while the job waits)
 * ARGV[5]  delay before the retry, ms
 * ARGV[6]  TTL in seconds
 * ARGV[7]  the bytes of the entry's input
 * Returns  1 scheduled; 0 hash missing; -1 already finished.
 */
export const RETRY_JOB_LUA = luaScript(
  { allowOom: true },
  `
local job_key, stream, retries, bytes_key, owner_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if #KEYS ~= 4 and #KEYS ~= 5 then fail('expected 4 or 5 keys, got ' .. #KEYS) end
local delay = int_arg(ARGV[5], 'retry delay', 0, MAX_TTL * 1000)
local ttl = int_arg(ARGV[6], 'TTL', 1, MAX_TTL)
local entry_bytes = int_arg(ARGV[7], 'entry bytes', 0, MAX_COUNT)

release_entries(stream, ARGV[1], bytes_key, {ARGV[2]}, {entry_bytes})
local status = redis.call('HGET', job_key, 'status')
if not status then return 0 end
if is_final(status) then return -1 end
local due = now_ms() + delay
redis.call('HSET', job_key, 'status', 'queued', 'reason', ARGV[4])
redis.call('EXPIRE', job_key, ttl + math.ceil(delay / 1000))
redis.call('ZADD', retries, ms_text(due), ARGV[3])
if owner_key then owner_touch(owner_key, ARGV[3], due, ttl) end
return 1
`,
);
