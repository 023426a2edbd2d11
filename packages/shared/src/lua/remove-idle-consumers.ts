import { luaScript } from './lua-prelude.js';

/**
 * remove-idle-consumers: deletes the group's consumers that have no pending
 * entry and have been idle at least the limit, other than the caller. One
 * atomic step: no entry can be delivered to a consumer between the check
 * and its deletion (XGROUP DELCONSUMER drops a consumer's pending entries,
 * which could then never be reclaimed). Runs at maxmemory too.
 *
 * KEYS[1]  jobs stream
 * ARGV[1]  consumer group
 * ARGV[2]  the caller's consumer name (kept)
 * ARGV[3]  idle time, ms, from which a consumer with nothing pending is removed
 * Returns  the names removed.
 */
export const REMOVE_IDLE_CONSUMERS_LUA = luaScript(
  { allowOom: true },
  `
local stream, group, caller = KEYS[1], ARGV[1], ARGV[2]
local idle_limit = int_arg(ARGV[3], 'idle limit', 0, MAX_COUNT)
local removed = {}
for _, flat in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local consumer = {}
  for i = 1, #flat - 1, 2 do consumer[flat[i]] = flat[i + 1] end
  if consumer.name ~= caller and consumer.pending == 0 and consumer.idle >= idle_limit then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer.name)
    removed[#removed + 1] = consumer.name
  end
end
return removed
`,
);
