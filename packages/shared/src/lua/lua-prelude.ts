/**
 * The longest TTL a script accepts, in seconds: 2^31 - 1 (68 years), far
 * above any sensible RESULT_TTL_SECONDS. A script checks it before its first
 * write, so EXPIRE can never refuse a TTL half-way through a script (Redis
 * refuses ones whose expiry time overflows) and leave a job without one.
 */
export const MAX_SCRIPT_TTL_SECONDS = 2_147_483_647;

/**
 * Lua shared by the scripts, pasted after their `#!lua` line: the checks
 * always, the other helpers only where a script uses them (a script's body
 * runs on every call, helper definitions included). Every script checks all
 * its arguments with the checks before its first write, so a bad argument is
 * an error reply and nothing is written.
 *
 * Checks: `int_arg(value, name, min, max)` the integer, or an error reply;
 * `key_at(value, name, required)` the key at that (1-based) index of KEYS,
 * index 0 being "none" (nil) unless `required`; `groups_of(first, size)` how
 * many groups of `size` arguments start at ARGV[first] (a batch's per-job
 * arguments). Helpers:
 *
 * - `clock`: `now_ms()` and `ms_text(ms)`, Redis's clock, so every consumer
 *   and API process stamps and schedules on one clock; whole ms as text.
 * - `release`: `release_entries(stream, group, bytes_key, entries, bytes)`
 *   acks entries of the jobs stream and deletes those still there, taking
 *   their inputs' bytes (`bytes[i]`, as the caller read the entry) off the
 *   backlog counter, never below zero. Every entry leaves the stream through
 *   it, which keeps the counter exact. It only frees memory.
 * - `add`: `add_entry(stream, bytes_key, id, input, owner)`, the one way an
 *   entry enters the stream, adds its input's bytes to the counter.
 * - `owners`: `extend_expiry(key, at_ms)` moves an existing key's expiry
 *   later, never earlier; `owner_touch(owner_key, id, from_ms, ttl)`
 *   re-scores a job that is a member of its owner's set with the time its
 *   TTL now counts from.
 */
const HELPERS = {
  clock: `
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function ms_text(ms)
  return string.format('%.0f', ms)
end
`,
  release: `
local function release_entries(stream, group, bytes_key, entries, bytes)
  if #entries == 0 then return end
  local freed = 0
  -- An entry still pending was never released (release acks and deletes at
  -- once): when all of them were, all are still in the stream. Otherwise
  -- (another consumer released one already) XDEL tells, entry by entry.
  if redis.call('XACK', stream, group, unpack(entries)) == #entries then
    redis.call('XDEL', stream, unpack(entries))
    for i = 1, #entries do freed = freed + bytes[i] end
  else
    for i = 1, #entries do
      if redis.call('XDEL', stream, entries[i]) == 1 then freed = freed + bytes[i] end
    end
  end
  if freed > 0 and redis.call('DECRBY', bytes_key, freed) <= 0 then redis.call('DEL', bytes_key) end
end
`,
  add: `
local function add_entry(stream, bytes_key, id, input, owner)
  if owner then
    redis.call('XADD', stream, '*', 'id', id, 'input', input, 'owner', owner)
  else
    redis.call('XADD', stream, '*', 'id', id, 'input', input)
  end
  redis.call('INCRBY', bytes_key, #input)
end
`,
  owners: `
local function extend_expiry(key, at_ms)
  local current = redis.call('PEXPIRETIME', key)
  if current ~= -2 and current < at_ms then redis.call('PEXPIREAT', key, ms_text(at_ms)) end
end

local function owner_touch(owner_key, id, from_ms, ttl)
  if redis.call('ZADD', owner_key, 'XX', 'CH', ms_text(from_ms), id) == 1 then
    extend_expiry(owner_key, from_ms + ttl * 1000)
  end
end
`,
};

const CHECKS = `
local MAX_TTL = ${MAX_SCRIPT_TTL_SECONDS}
local MAX_COUNT = 9007199254740991

local function fail(message)
  error({ err = 'ERR foretell: ' .. message })
end

local function int_arg(value, name, min, max)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) or n < min or n > max then
    fail(name .. ' must be an integer from ' .. string.format('%.0f', min) .. ' to ' ..
      string.format('%.0f', max) .. ' (got ' .. tostring(value) .. ')')
  end
  return n
end

local function key_at(value, name, required)
  local index = tonumber(value)
  local key = index and KEYS[index]
  if not key and (required or index ~= 0) then fail(name .. ' names no key (got ' .. tostring(value) .. ')') end
  return key or nil
end

local function groups_of(first, size)
  local count = #ARGV - first + 1
  if count < 0 or count % size ~= 0 then
    fail('expected groups of ' .. size .. ' arguments from ARGV[' .. first .. '], got ' .. count .. ' arguments')
  end
  return count / size
end
`;

export type LuaHelper = keyof typeof HELPERS;

/**
 * A script's text: its `#!lua` line (with `allow-oom` for a script that must
 * run at maxmemory too: it frees memory or moves data, never grows it much),
 * the checks, the helpers it names (in a fixed order: `owners` uses `clock`),
 * then its body.
 */
export function luaScript(
  options: { readonly allowOom: boolean; readonly helpers: readonly LuaHelper[] },
  body: string,
): string {
  const shebang = options.allowOom ? '#!lua flags=allow-oom' : '#!lua';
  const helpers = (Object.keys(HELPERS) as LuaHelper[]).filter((name) => options.helpers.includes(name));
  return [shebang, CHECKS, ...helpers.map((name) => HELPERS[name]), body].join('\n');
}
