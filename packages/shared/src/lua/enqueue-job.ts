/**
 * enqueue-job: admits an async job, atomically: the idempotency check, the
 * backlog cap, the job hash with its TTL, the stream entry, and the
 * idempotency record. Nothing is written unless the job is admitted, and two
 * concurrent requests with one Idempotency-Key enqueue once.
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  idempotency key (optional: only when the request carries one)
 * ARGV[1]  job id
 * ARGV[2]  input
 * ARGV[3]  now, Unix ms
 * ARGV[4]  TTL in seconds, of the job hash and of the idempotency record
 * ARGV[5]  backlog cap: no job is admitted while XLEN reaches it (0: no cap)
 * ARGV[6]  request fingerprint, stored with the idempotency record
 * Returns  {outcome, id}: 'queued' with the new id; 'replayed' with the id the
 *          key already names (same fingerprint); 'conflict' (the key was used
 *          with another body); 'full' (backlog at its cap).
 */
export const ENQUEUE_JOB_LUA = `
if KEYS[3] then
  local record = redis.call('GET', KEYS[3])
  if record then
    local space = string.find(record, ' ', 1, true)
    local id = string.sub(record, 1, space - 1)
    if string.sub(record, space + 1) == ARGV[6] then return {'replayed', id} end
    return {'conflict', id}
  end
end
local cap = tonumber(ARGV[5])
if cap > 0 and redis.call('XLEN', KEYS[2]) >= cap then return {'full', ''} end
redis.call('HSET', KEYS[1], 'status', 'queued', 'input', ARGV[2], 'attempts', '0', 'created', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'input', ARGV[2])
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. ARGV[6], 'EX', ARGV[4]) end
return {'queued', ARGV[1]}
`;

export type EnqueueOutcome = 'queued' | 'replayed' | 'conflict' | 'full';
