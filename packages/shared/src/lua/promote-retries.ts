/**
 * promote-retries: moves the retries that are due back onto the jobs stream,
 * atomically, so a retry is never both waiting and queued, nor lost between
 * the two. A retry whose job hash has expired is dropped.
 *
 * KEYS[1]  retries sorted set
 * KEYS[2]  jobs stream
 * ARGV[1]  now, Unix ms
 * ARGV[2]  most retries to move in one call
 * ARGV[3]  job hash key prefix (the job hash is ARGV[3] .. id)
 * Returns  how many were put back on the stream.
 */
export const PROMOTE_RETRIES_LUA = `
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local input = redis.call('HGET', ARGV[3] .. id, 'input')
  if input then
    redis.call('XADD', KEYS[2], '*', 'id', id, 'input', input)
    moved = moved + 1
  end
end
return moved
`;
