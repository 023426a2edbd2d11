import { luaScript } from './lua-prelude.js';

/**
 * cancel-job: makes a job that has no outcome yet `canceled`, in one atomic
 * step, so that a job is never both canceled and succeeded (first outcome
 * wins: the consumer's finish script then finds a final status and only
 * releases the entry). A queued job keeps its stream entry until a consumer
 * reads it: the start script finds it final and the consumer releases it
 * without running it. A job waiting for a retry leaves the retries set. A
 * running one is announced on the canceled channel, where the consumer
 * running it learns to abort its model call. Like a finish, the id is
 * announced on the done channel (long-polls and live events answer), its
 * `completed` webhook (if it has one) is queued, and the job leaves its owner's set; the hash drops what only a live job needs and
 * keeps its outcome a whole TTL. Runs at maxmemory too: it frees memory.
 *
 * KEYS[1]  job hash
 * KEYS[2]  retries sorted set
 * KEYS[3]  webhook deliveries set: a job with a webhook for `completed` gets one
 * KEYS[4]  the owner's set of jobs (only when the request names an owner)
 * ARGV[1]  job id
 * ARGV[2]  TTL in seconds
 * ARGV[3]  pub/sub channel announcing finished ids
 * ARGV[4]  pub/sub channel announcing ids canceled while running
 * ARGV[5]  the requesting owner's id ('' when API keys are off): another
 *          owner's job is as good as missing
 * Returns  {'canceled', status it had} when canceled now; {'missing'} when
 *          there is no such job (or it is another owner's); {status} of a
 *          job that already had its outcome.
 */
export const CANCEL_JOB_LUA = luaScript(
  { allowOom: true },
  `
local job_key, retries, webhooks, owner_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if #KEYS ~= 3 and #KEYS ~= 4 then fail('expected 3 or 4 keys, got ' .. #KEYS) end
local id, done, canceled, owner = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local ttl = int_arg(ARGV[2], 'TTL', 1, MAX_TTL)
if not id or id == '' or not canceled or canceled == '' then fail('expected a job id and both channels') end
local job = redis.call('HMGET', job_key, 'status', 'owner', 'webhook', 'webhook_events')
local status, stored_owner = job[1], job[2]
if not status or (owner ~= '' and stored_owner ~= owner) then return {'missing'} end
if is_final(status) then return {status} end
local now = now_ms()
redis.call('HSET', job_key, 'status', 'canceled', 'finished', ms_text(now))
redis.call('HDEL', job_key, 'created', 'started', 'reason', 'request_id', 'traceparent')
redis.call('EXPIRE', job_key, ttl)
redis.call('ZREM', retries, id)
if owner_key then redis.call('ZREM', owner_key, id) end
if status == 'processing' then redis.call('PUBLISH', canceled, id) end
redis.call('PUBLISH', done, id)
add_webhook(webhooks, id, 'completed', job[3], job[4], now)
return {'canceled', status}
`,
);

/** What cancel-job answered: canceled now (and what it was), no such job, or the outcome it already had. */
export type CancelOutcome =
  | { readonly kind: 'canceled'; readonly was: 'queued' | 'processing' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'final'; readonly status: 'succeeded' | 'failed' | 'canceled' };

/** Reads cancel-job's reply; throws on one it never gives (a script of another version). */
export function decodeCancelReply(reply: unknown): CancelOutcome {
  if (Array.isArray(reply)) {
    const [first, second] = reply as unknown[];
    if (first === 'missing') return { kind: 'missing' };
    if (first === 'canceled' && (second === 'queued' || second === 'processing'))
      return { kind: 'canceled', was: second };
    if (reply.length === 1 && (first === 'succeeded' || first === 'failed' || first === 'canceled')) {
      return { kind: 'final', status: first };
    }
  }
  throw new TypeError(`cancel-job: unexpected reply ${JSON.stringify(reply)}`);
}
