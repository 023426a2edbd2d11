import type { RedisKeys } from '../redis-keys.js';
import type { JobTrace } from '../trace-context.js';
import { encodeWebhookEvents, type WebhookEvent } from '../webhooks/webhook-delivery.js';
import { luaScript } from './lua-prelude.js';

/**
 * enqueue-job: admits an async job, atomically: the idempotency check, the
 * backlog caps (entries and bytes), the owner's cap, the cap of webhook
 * deliveries waiting (for a job with a webhook), the job hash with its
 * TTL, the stream entry, the backlog byte count, the owner's set and the
 * idempotency record. Nothing is written unless the job is admitted (the byte
 * count is added to check it, and taken back), and two concurrent requests
 * with one Idempotency-Key enqueue once. A plain `#!lua`
 * script: at maxmemory Redis refuses it whole, before it runs (OOM).
 *
 * KEYS[1]  job hash
 * KEYS[2]  jobs stream
 * KEYS[3]  backlog bytes counter
 * KEYS[4]  the owner's set of jobs (only with an owner), then
 * KEYS[.]  the idempotency key (only with a fingerprint), then
 * KEYS[.]  the webhook deliveries set (only with a webhook)
 * ARGV[1]  job id
 * ARGV[2]  input
 * ARGV[3]  TTL in seconds, of the job hash and of the idempotency record
 * ARGV[4]  backlog cap: no job is admitted while XLEN reaches it (0: no cap)
 * ARGV[5]  backlog bytes cap: no job is admitted whose input would take the
 *          bytes of the inputs in the stream beyond it (0: no cap)
 * ARGV[6]  request fingerprint, stored with the idempotency record ('' without one)
 * ARGV[7]  owner id ('' without API keys)
 * ARGV[8]  the owner's cap of jobs queued or running (0: no cap, and no set kept)
 * ARGV[9]  now, Unix ms, on the caller's clock: the job's `created` stamp,
 *          shown by `redis-cli HGETALL` and nothing else reads it. Redis's
 *          TIME would cost every enqueue about 1.5 µs of Redis time (a third
 *          of what this script adds to the seed's); it is read only where a
 *          per-owner cap compares times with the consumers' (Redis's clock).
 * ARGV[10] the request's id ('' for none): in the hash as `request_id` and in the entry as `rid`
 * ARGV[11] the request's traceparent ('' for none): `traceparent` in the hash, `tp` in the entry
 * ARGV[12] the webhook URL ('' for none): `webhook` in the hash
 * ARGV[13] the events it is sent for, comma-separated: `webhook_events` in the hash
 * ARGV[14] with a webhook: deliveries waiting (ZCARD of the set) at which a
 *          job with a webhook is refused (0: no cap), so that receivers that
 *          are down cannot make the set grow without bound
 * Returns  {outcome, id}: 'queued' with the new id; 'replayed' with the id the
 *          key already names (same fingerprint); 'conflict' (the key was used
 *          with another body); 'full' (a backlog cap reached); 'owner-full'
 *          (the owner has its cap of jobs queued or running); 'webhooks-full'
 *          (the webhook deliveries waiting are at their cap).
 */
export const ENQUEUE_JOB_LUA = luaScript(
  { allowOom: false },
  `
local id, input, fingerprint, owner = ARGV[1], ARGV[2], ARGV[6], ARGV[7]
int_arg(ARGV[9], 'created time', 0, MAX_COUNT)
local ttl = int_arg(ARGV[3], 'TTL', 1, MAX_TTL)
local max_length = int_arg(ARGV[4], 'backlog cap', 0, MAX_COUNT)
local max_bytes = int_arg(ARGV[5], 'backlog bytes cap', 0, MAX_COUNT)
local max_jobs = int_arg(ARGV[8], 'jobs per owner cap', 0, MAX_COUNT)
local job_key, stream, bytes_key = KEYS[1], KEYS[2], KEYS[3]
local owner_key, idempotency_key
local expected_keys = 3
if owner ~= '' then
  expected_keys = expected_keys + 1
  owner_key = KEYS[expected_keys]
end
if fingerprint ~= '' then
  expected_keys = expected_keys + 1
  idempotency_key = KEYS[expected_keys]
end
local webhook = ARGV[12] or ''
local webhooks_key, max_webhooks
if webhook ~= '' then
  expected_keys = expected_keys + 1
  webhooks_key = KEYS[expected_keys]
  max_webhooks = int_arg(ARGV[14], 'webhook deliveries cap', 0, MAX_COUNT)
end
if #KEYS ~= expected_keys then fail('expected ' .. expected_keys .. ' keys, got ' .. #KEYS) end

if idempotency_key then
  local record = redis.call('GET', idempotency_key)
  if record then
    local space = string.find(record, ' ', 1, true)
    local known = string.sub(record, 1, space - 1)
    if string.sub(record, space + 1) == fingerprint then return {'replayed', known} end
    return {'conflict', known}
  end
end
if max_length > 0 and redis.call('XLEN', stream) >= max_length then return {'full', ''} end
local counted = owner_key ~= nil and max_jobs > 0
local now, cutoff
if counted then
  now = now_ms()
  -- A member scored at or before the cutoff names a hash whose TTL has run out.
  cutoff = ms_text(now - ttl * 1000)
  if redis.call('ZCOUNT', owner_key, '(' .. cutoff, '+inf') >= max_jobs then return {'owner-full', ''} end
end
if webhooks_key and max_webhooks > 0 and redis.call('ZCARD', webhooks_key) >= max_webhooks then
  return {'webhooks-full', ''}
end
-- The last check: the input's bytes are added, and taken back if they pass the
-- cap. One command for an admitted job instead of a GET and an INCRBY (every
-- enqueue's Redis time counts); only a refused one writes (twice, net nothing).
local backlog_bytes = redis.call('INCRBY', bytes_key, #input)
if max_bytes > 0 and backlog_bytes > max_bytes then
  if redis.call('DECRBY', bytes_key, #input) <= 0 then redis.call('DEL', bytes_key) end
  return {'full', ''}
end

local request_id, traceparent = ARGV[10] or '', ARGV[11] or ''
local job = {'HSET', job_key, 'status', 'queued', 'input', input, 'attempts', '0', 'created', ARGV[9]}
if owner_key then
  job[#job + 1] = 'owner'
  job[#job + 1] = owner
end
if request_id ~= '' then
  job[#job + 1] = 'request_id'
  job[#job + 1] = request_id
end
if traceparent ~= '' then
  job[#job + 1] = 'traceparent'
  job[#job + 1] = traceparent
end
if webhook ~= '' then
  job[#job + 1] = 'webhook'
  job[#job + 1] = webhook
  job[#job + 1] = 'webhook_events'
  job[#job + 1] = ARGV[13] or ''
end
redis.call(unpack(job))
redis.call('EXPIRE', job_key, ttl)
add_entry(stream, bytes_key, id, input, owner_key and owner or nil, true, request_id, traceparent, webhook ~= '')
if counted then
  redis.call('ZREMRANGEBYSCORE', owner_key, '-inf', cutoff)
  redis.call('ZADD', owner_key, ms_text(now), id)
  extend_expiry(owner_key, now + ttl * 1000)
end
if idempotency_key then redis.call('SET', idempotency_key, id .. ' ' .. fingerprint, 'EX', ttl) end
return {'queued', id}
`,
);

export type EnqueueOutcome = 'queued' | 'replayed' | 'conflict' | 'full' | 'owner-full' | 'webhooks-full';

export interface EnqueueJobCall {
  readonly id: string;
  readonly input: string;
  readonly ttlSeconds: number;
  /** Entries in the stream at which jobs are refused; 0 for none. */
  readonly maxQueueLength: number;
  /** Bytes of inputs in the stream beyond which jobs are refused; 0 for none. */
  readonly maxQueueBytes: number;
  /** With the fingerprint of the request it was sent with. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /** The API key that submits it (its id), and that key's cap of jobs queued or running (0: none). */
  readonly owner?: { readonly id: string; readonly maxJobs: number };
  /** The `created` stamp, Unix ms; the caller's clock (Date.now()) when absent. */
  readonly now?: number;
  /** The request's id and traceparent, carried to the consumer (trace-context.ts). */
  readonly trace?: JobTrace;
  /** Where to POST the job's record, and for which events (webhook-delivery.ts). */
  readonly webhook?: JobWebhook;
  /** With a webhook: deliveries waiting at which the job is refused; 0 (or absent) for none. */
  readonly maxPendingWebhooks?: number;
}

/** A job's webhook as it is stored: the URL, checked at submission, and its events. */
export interface JobWebhook {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
}

/**
 * The number of keys, the keys and the arguments of one enqueue-job call,
 * in EVAL/EVALSHA order: the one place that knows the script's layout (the
 * API, the bench and the tests all call it through this).
 */
export function enqueueJobArgs(keys: RedisKeys, call: EnqueueJobCall): [numberOfKeys: number, ...args: string[]] {
  const scriptKeys = [keys.job(call.id), keys.jobs, keys.backlogBytes];
  if (call.owner) scriptKeys.push(keys.ownerJobs(call.owner.id));
  if (call.idempotency) scriptKeys.push(keys.idempotency(call.idempotency.key, call.owner?.id));
  if (call.webhook) scriptKeys.push(keys.webhooks);
  return [
    scriptKeys.length,
    ...scriptKeys,
    call.id,
    call.input,
    String(call.ttlSeconds),
    String(call.maxQueueLength),
    String(call.maxQueueBytes),
    call.idempotency?.fingerprint ?? '',
    call.owner?.id ?? '',
    String(call.owner?.maxJobs ?? 0),
    String(call.now ?? Date.now()),
    call.trace?.requestId ?? '',
    call.trace?.traceparent ?? '',
    ...(call.webhook
      ? [call.webhook.url, encodeWebhookEvents(call.webhook.events), String(call.maxPendingWebhooks ?? 0)]
      : []),
  ];
}
