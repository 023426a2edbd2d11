import { luaScript } from './lua-prelude.js';

/**
 * finish-jobs: stores the outcomes of a batch of jobs and releases their
 * stream entries, in one atomic step: first the entries are acked and
 * deleted (their bytes leave the backlog count), then per job HSET the
 * outcome, renew the TTL, PUBLISH the id, queue its `completed` webhook if it
 * has one, take it out of its owner's set (a
 * failed job is also appended to the dead-letter stream, trimmed to about
 * its cap). A finished job drops the request's id and traceparent too. A
 * finished job records the ref of the model that ran it
 * (`model`, with the model's name and version set in the models registry
 * once per call). A finished job keeps `finished` but drops `created` and
 * `started` (and a success the `reason` of an earlier attempt): fewer fields
 * are what keeps a small job's hash in a smaller allocation (see the
 * README's memory figure); the queue and run times are in the consumer's
 * debug log. An outcome is written only once: a job whose outcome is
 * already stored (a redelivery) or whose hash expired is only released. The
 * outcome 'release' writes nothing about the job at all (its entry is a
 * redelivery of a job that is gone or done: whatever its hash says by now,
 * e.g. queued again by a dead-letter replay, stays). One call serves all the
 * jobs that finished in the same tick. Runs at maxmemory too: it is how a
 * full Redis drains. One key and four arguments per job on the hot path;
 * what only some jobs have comes after, tagged.
 *
 * KEYS[1]       jobs stream
 * KEYS[2]       dead-letter stream
 * KEYS[3]       backlog bytes counter
 * KEYS[4]       models registry (hash: ref → "name version")
 * KEYS[5]       webhook deliveries set: a job with a webhook for `completed` gets one
 * KEYS[6..5+n]  the jobs' hashes, in order
 * KEYS[6+n..]   their owners' sets, each once
 * ARGV[1]       consumer group
 * ARGV[2]       TTL in seconds from now
 * ARGV[3]       pub/sub channel announcing finished ids
 * ARGV[4]       dead-letter stream cap (approximate: MAXLEN ~)
 * ARGV[5]       job hash key prefix: a job's id is its hash key after it
 * ARGV[6]       n, the number of jobs
 * ARGV[7]       the model's ref ('' for a model without a name: no `model` field)
 * ARGV[8]       the model's "name version", what the registry holds for the ref
 * ARGV[9..8+4n] per job, four values: stream entry id, outcome ('succeeded',
 *               'failed' or 'release'), result or the client's reason, the
 *               bytes of the entry's input
 * ARGV[9+4n..]  then three values per extra: a job's position (1..n) and
 *               'detail' with the reason kept in its dead letter (a failed
 *               job), 'owner' with the index in KEYS of its owner's set, or
 *               'webhook' with '' (its entry says it has one: only then are
 *               the hash's webhook fields read)
 * Returns       per job, in order: 1 written; 0 hash missing; -1 outcome
 *               already stored; 2 released (outcome 'release').
 */
export const FINISH_JOBS_LUA = luaScript(
  { allowOom: true },
  `
local stream, dead, bytes_key, models, webhooks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, channel, prefix = ARGV[1], ARGV[3], ARGV[5]
local ttl = int_arg(ARGV[2], 'TTL', 1, MAX_TTL)
local dead_cap = int_arg(ARGV[4], 'dead-letter cap', 1, MAX_COUNT)
local count = int_arg(ARGV[6], 'number of jobs', 0, #KEYS - 5)
local model, model_label = ARGV[7], ARGV[8]
if model ~= '' and (not string.match(model, '^%x%x%x%x%x%x%x%x$') or model_label == '') then fail('bad model ref ' .. tostring(model)) end
local extras_at = 9 + 4 * count
if #ARGV < extras_at - 1 then fail('expected 4 arguments per job') end
local entries, bytes = {}, {}
for i = 1, count do
  local at = 5 + 4 * i
  local outcome = ARGV[at + 1]
  if outcome ~= 'succeeded' and outcome ~= 'failed' and outcome ~= 'release' then
    fail('unknown outcome ' .. tostring(outcome))
  end
  if string.sub(KEYS[5 + i], 1, #prefix) ~= prefix then fail('job hash without the prefix: ' .. KEYS[5 + i]) end
  entries[i] = ARGV[at]
  bytes[i] = int_arg(ARGV[at + 3], 'entry bytes', 0, MAX_COUNT)
end
local extras = read_extras(extras_at, count, {'detail', 'owner', 'webhook'})
local details, owners, hooks = extras.detail, extras.owner, extras.webhook

release_entries(stream, group, bytes_key, entries, bytes)
local now_number = now_ms()
local now = ms_text(now_number)
local written, registered = {}, model == ''
for i = 1, count do
  local at = 5 + 4 * i
  local hash, outcome, owner = KEYS[5 + i], ARGV[at + 1], owners[i]
  local id = string.sub(hash, #prefix + 1)
  local status = outcome ~= 'release' and redis.call('HGET', hash, 'status')
  if outcome == 'release' then
    -- A member whose hash is gone is no job of its owner any more.
    if owner and redis.call('EXISTS', hash) == 0 then redis.call('ZREM', owner, id) end
    written[i] = 2
  elseif not status then
    if owner then redis.call('ZREM', owner, id) end
    written[i] = 0
  elseif is_final(status) then
    written[i] = -1
  else
    if not registered then
      -- Once per call and only with a job to name it: HSET of the same value is idempotent.
      redis.call('HSET', models, model, model_label)
      registered = true
    end
    local record = {'HSET', hash, 'status', outcome, outcome == 'succeeded' and 'result' or 'reason', ARGV[at + 2],
      'finished', now}
    if model ~= '' then
      record[9] = 'model'
      record[10] = model
    end
    redis.call(unpack(record))
    if outcome == 'succeeded' then
      redis.call('HDEL', hash, 'created', 'started', 'reason', 'request_id', 'traceparent')
    else
      local stored = redis.call('HMGET', hash, 'input', 'attempts', 'owner', 'request_id')
      redis.call('HDEL', hash, 'created', 'started', 'request_id', 'traceparent')
      local letter = {'XADD', dead, 'MAXLEN', '~', dead_cap, '*', 'id', id, 'input', stored[1] or '',
        'reason', details[i] or ARGV[at + 2], 'attempts', stored[2] or '0'}
      if stored[3] then
        letter[#letter + 1] = 'owner'
        letter[#letter + 1] = stored[3]
      end
      -- The request that queued it, for finding its lines in the logs.
      if stored[4] then
        letter[#letter + 1] = 'request_id'
        letter[#letter + 1] = stored[4]
      end
      if model ~= '' then
        letter[#letter + 1] = 'model'
        letter[#letter + 1] = model
      end
      redis.call(unpack(letter))
    end
    redis.call('EXPIRE', hash, ttl)
    redis.call('PUBLISH', channel, id)
    if hooks[i] then
      local hook = redis.call('HMGET', hash, 'webhook', 'webhook_events')
      add_webhook(webhooks, id, 'completed', hook[1], hook[2], now_number)
    end
    if owner then redis.call('ZREM', owner, id) end
    written[i] = 1
  end
end
return written
`,
);

export const FINISH_JOB_WRITTEN = 1;
export const FINISH_JOB_MISSING = 0;
export const FINISH_JOB_ALREADY_FINISHED = -1;
export const FINISH_JOB_RELEASED = 2;
