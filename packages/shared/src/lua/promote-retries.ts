import { luaScript } from './lua-prelude.js';

/**
 * promote-retries: moves the retries that are due (by Redis's clock) back
 * onto the jobs stream, atomically, so a retry is never both waiting and
 * queued, nor lost between the two. A retry whose job hash has expired, or
 * whose job finished meanwhile (another delivery of it), is dropped. Runs at
 * maxmemory too: it moves a job from the set to the stream, and a full Redis
 * must still run its retries to drain.
 *
 * KEYS[1]  retries sorted set
 * KEYS[2]  jobs stream
 * KEYS[3]  backlog bytes counter
 * ARGV[1]  most retries to move in one call
 * ARGV[2]  job hash key prefix (the job hash is ARGV[2] .. id)
 * Returns  how many were put back on the stream.
 */
export const PROMOTE_RETRIES_LUA = luaScript(
  { allowOom: true },
  `
local retries, stream, bytes_key, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
local limit = int_arg(ARGV[1], 'batch size', 1, 100000)
local due = redis.call('ZRANGE', retries, '-inf', ms_text(now_ms()), 'BYSCORE', 'LIMIT', 0, limit)
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', retries, id)
  local job = redis.call('HMGET', prefix .. id, 'status', 'input', 'owner', 'request_id', 'traceparent', 'webhook')
  if job[2] and not is_final(job[1]) then
    -- The retry's entry names the request, and marks a webhook, as the first one did.
    add_entry(stream, bytes_key, id, job[2], job[3] or nil, false, job[4] or nil, job[5] or nil, job[6] ~= false)
    moved = moved + 1
  end
end
return moved
`,
);
