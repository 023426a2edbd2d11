/**
 * The longest TTL a script accepts, in seconds: 2^31 - 1 (68 years), far
 * above any sensible RESULT_TTL_SECONDS. A script checks it before its first
 * write, so EXPIRE can never refuse a TTL half-way through a script (Redis
 * refuses ones whose expiry time overflows) and leave a job without one.
 */
export const MAX_SCRIPT_TTL_SECONDS = 2_147_483_647;

/**
 * Lua shared by the scripts, pasted after their `#!lua` line: only the
 * definitions a script refers to (and those they refer to), because a
 * script's body runs whole on every call, its `local function` definitions
 * included: every closure it does not need costs each call (measured: about
 * half a microsecond of Redis time on enqueue-job). Every script checks all
 * its arguments with the checks before its first write, so a bad argument is
 * an error reply and nothing is written.
 *
 * Checks: `int_arg(value, name, min, max)` the integer, or an error reply;
 * `key_at(value, name, required)` the key at that (1-based) index of KEYS,
 * index 0 being "none" (nil) unless `required`; `groups_of(first, size)` how
 * many groups of `size` arguments start at ARGV[first] (a batch's per-job
 * arguments); `read_extras(first, count, tags)` a batch's tagged extras:
 * triples (job position 1..count, tag, value) from ARGV[first] on, as one
 * table per tag of value by position, an `owner` value being the key at
 * that index of KEYS, and an unknown tag an error reply; `fail(message)` an
 * error reply. Helpers:
 *
 * - `is_final(status)`: a job's status once it has its outcome (succeeded,
 *   failed or canceled): nothing reopens or overwrites it (first outcome wins).
 * - `now_ms()` and `ms_text(ms)`: Redis's clock, so every consumer and API
 *   process schedules on one clock; whole ms as text.
 * - `release_entries(stream, group, bytes_key, entries, bytes)` acks entries
 *   of the jobs stream and deletes those still there, taking their inputs'
 *   bytes (`bytes[i]`, as the caller read the entry) off the backlog
 *   counter, never below zero. Every entry leaves the stream through it,
 *   which keeps the counter exact. It only frees memory.
 * - `add_entry(stream, bytes_key, id, input, owner, counted, rid, tp, hook)`,
 *   the one way an entry enters the stream, adds its input's bytes to the
 *   counter (unless `counted`: the caller added them already, to check a
 *   cap); `rid` and `tp`, the request id and traceparent, when the job has
 *   them; `hook` true marks a job with a webhook (`wh 1`), so that the start
 *   and finish scripts read the webhook fields of those jobs only.
 * - `add_webhook(zset, id, event, url, events, now)` queues the delivery of
 *   `event` ('start' or 'completed') of job `id` on the deliveries set, due
 *   `now`, when the job has a webhook `url` and its `events` (the hash's
 *   comma-separated `webhook_events`) include it; first attempt, with a
 *   `webhook-id` of its own (webhook-delivery.ts has the member's format).
 * - `extend_expiry(key, at_ms)` moves an existing key's expiry later, never
 *   earlier; `owner_touch(owner_key, id, from_ms, ttl)` re-scores a job that
 *   is a member of its owner's set with the time its TTL now counts from.
 */
const DEFINITIONS: readonly { readonly name: string; readonly lua: string }[] = [
  { name: 'MAX_TTL', lua: `local MAX_TTL = ${MAX_SCRIPT_TTL_SECONDS}` },
  { name: 'MAX_COUNT', lua: 'local MAX_COUNT = 9007199254740991' },
  {
    name: 'fail',
    lua: `
local function fail(message)
  error({ err = 'ERR foretell: ' .. message })
end`,
  },
  {
    name: 'is_final',
    lua: `
local function is_final(status)
  return status == 'succeeded' or status == 'failed' or status == 'canceled'
end`,
  },
  {
    name: 'int_arg',
    lua: `
local function int_arg(value, name, min, max)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) or n < min or n > max then
    fail(name .. ' must be an integer from ' .. string.format('%.0f', min) .. ' to ' ..
      string.format('%.0f', max) .. ' (got ' .. tostring(value) .. ')')
  end
  return n
end`,
  },
  {
    name: 'key_at',
    lua: `
local function key_at(value, name, required)
  local index = tonumber(value)
  local key = index and KEYS[index]
  if not key and (required or index ~= 0) then fail(name .. ' names no key (got ' .. tostring(value) .. ')') end
  return key or nil
end`,
  },
  {
    name: 'groups_of',
    lua: `
local function groups_of(first, size)
  local count = #ARGV - first + 1
  if count < 0 or count % size ~= 0 then
    fail('expected groups of ' .. size .. ' arguments from ARGV[' .. first .. '], got ' .. count .. ' arguments')
  end
  return count / size
end`,
  },
  {
    name: 'read_extras',
    lua: `
local function read_extras(first, count, tags)
  groups_of(first, 3)
  local extras = {}
  for _, tag in ipairs(tags) do extras[tag] = {} end
  for at = first, #ARGV, 3 do
    local position, tag = int_arg(ARGV[at], 'job position', 1, count), ARGV[at + 1]
    local values = extras[tag]
    if not values then fail('unknown extra ' .. tostring(tag)) end
    values[position] = tag == 'owner' and key_at(ARGV[at + 2], 'owner set index', true) or ARGV[at + 2]
  end
  return extras
end`,
  },
  {
    name: 'now_ms',
    lua: `
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end`,
  },
  {
    name: 'ms_text',
    lua: `
local function ms_text(ms)
  return string.format('%.0f', ms)
end`,
  },
  {
    name: 'release_entries',
    lua: `
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
end`,
  },
  {
    name: 'add_entry',
    lua: `
local function add_entry(stream, bytes_key, id, input, owner, counted, rid, tp, hook)
  local entry = {'XADD', stream, '*', 'id', id, 'input', input}
  if owner then
    entry[#entry + 1] = 'owner'
    entry[#entry + 1] = owner
  end
  if rid and rid ~= '' then
    entry[#entry + 1] = 'rid'
    entry[#entry + 1] = rid
  end
  if tp and tp ~= '' then
    entry[#entry + 1] = 'tp'
    entry[#entry + 1] = tp
  end
  if hook then
    entry[#entry + 1] = 'wh'
    entry[#entry + 1] = '1'
  end
  redis.call(unpack(entry))
  if not counted then redis.call('INCRBY', bytes_key, #input) end
end`,
  },
  {
    name: 'extend_expiry',
    lua: `
local function extend_expiry(key, at_ms)
  local current = redis.call('PEXPIRETIME', key)
  if current ~= -2 and current < at_ms then redis.call('PEXPIREAT', key, ms_text(at_ms)) end
end`,
  },
  {
    name: 'add_webhook',
    lua: `
local function add_webhook(zset, id, event, url, events, now)
  if not url or url == '' or not events or not string.find(',' .. events .. ',', ',' .. event .. ',', 1, true) then
    return
  end
  local due = ms_text(now)
  local wid = 'msg_' .. id .. '_' .. event .. '_' .. due
  redis.call('ZADD', zset, due, cjson.encode({id = id, event = event, url = url, wid = wid, attempt = 1}))
end`,
  },
  {
    name: 'owner_touch',
    lua: `
local function owner_touch(owner_key, id, from_ms, ttl)
  if redis.call('ZADD', owner_key, 'XX', 'CH', ms_text(from_ms), id) == 1 then
    extend_expiry(owner_key, from_ms + ttl * 1000)
  end
end`,
  },
];

function refersTo(lua: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(lua);
}

/**
 * A script's text: its `#!lua` line (with `allow-oom` for a script that must
 * run at maxmemory too: it frees memory or moves data, never grows it much),
 * the definitions that its body refers to, directly or through another
 * definition (in DEFINITIONS' order, each after those it uses), then its body.
 */
export function luaScript(options: { readonly allowOom: boolean }, body: string): string {
  const shebang = options.allowOom ? '#!lua flags=allow-oom' : '#!lua';
  // A definition only refers to earlier ones: one pass from the last to the first finds them all.
  const needed = new Set<string>();
  for (let at = DEFINITIONS.length - 1; at >= 0; at -= 1) {
    const { name } = DEFINITIONS[at]!;
    const users = [body, ...DEFINITIONS.filter((other) => needed.has(other.name)).map((other) => other.lua)];
    if (users.some((lua) => refersTo(lua, name))) needed.add(name);
  }
  const prelude = DEFINITIONS.filter(({ name }) => needed.has(name)).map(({ lua }) => lua.trim());
  return [shebang, ...prelude, body].join('\n');
}
