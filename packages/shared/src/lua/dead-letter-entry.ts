import { luaScript } from './lua-prelude.js';

/**
 * dead-letter-entry: moves a stream entry that does not parse (poison) to
 * the dead-letter stream, atomically: ack and delete it first, then append
 * it, with the reason and its original fields, to the dead letters (trimmed
 * to about their cap). Runs at maxmemory too.
 *
 * KEYS[1]  jobs stream
 * KEYS[2]  dead-letter stream
 * KEYS[3]  backlog bytes counter
 * ARGV[1]  consumer group
 * ARGV[2]  stream entry id
 * ARGV[3]  why it does not parse
 * ARGV[4]  its fields, as a JSON array
 * ARGV[5]  dead-letter stream cap (approximate: MAXLEN ~)
 * ARGV[6]  the bytes of its `input` field (0 without one)
 * Returns  1.
 */
export const DEAD_LETTER_ENTRY_LUA = luaScript(
  { allowOom: true },
  `
if #KEYS ~= 3 then fail('expected 3 keys, got ' .. #KEYS) end
local dead_cap = int_arg(ARGV[5], 'dead-letter cap', 1, MAX_COUNT)
local entry_bytes = int_arg(ARGV[6], 'entry bytes', 0, MAX_COUNT)
release_entries(KEYS[1], ARGV[1], KEYS[3], {ARGV[2]}, {entry_bytes})
redis.call('XADD', KEYS[2], 'MAXLEN', '~', dead_cap, '*', 'entry', ARGV[2], 'reason', ARGV[3], 'fields', ARGV[4])
return 1
`,
);
