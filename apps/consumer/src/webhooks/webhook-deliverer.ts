// Sends the queued webhook deliveries: a loop of its own beside the job
// loop, claiming due deliveries from Redis with a lease, a bounded number
// at once, each settled (delivered, retried later, failed for good) by
// settle-webhook. Nothing here waits on a job, nor a job on it.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLAIM_WEBHOOKS_LUA,
  decodeWebhookClaim,
  decodeWebhookDelivery,
  DEFAULT_WEBHOOK_LOOKUP_TIMEOUT_MS,
  encodeWebhookDelivery,
  parseWebhookUrl,
  resolveWebhookTarget,
  SETTLE_WEBHOOK_LUA,
  WebhookTargetError,
  type LookupAll,
  type Model,
  type RedisKeys,
  type ResolvedTarget,
  type WebhookDelivery,
} from '@foretell/shared';
import type { Redis, Result } from 'ioredis';
import type { Logger } from 'pino';
import { sendWebhook } from './send-webhook.js';
import { webhookRetryDelayMs } from './webhook-backoff.js';
import type { WebhookConfigSettings } from './webhook-config.js';
import { buildWebhookPayload } from './webhook-payload.js';
import { createWebhookSigner } from './webhook-signer.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    foretellClaimWebhooks(numberOfKeys: number, ...keysAndArgs: string[]): Result<unknown, Context>;
    foretellSettleWebhook(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** Due deliveries are looked for this often when there is room and none were due last time. */
export const DEFAULT_WEBHOOK_POLL_MS = 200;
/**
 * The lease beyond the attempt's own deadline and its DNS lookup's: reading
 * the job, signing and settling take milliseconds, but a busy event loop or
 * a slow Redis can stretch them; a lease that ran out early only means a
 * duplicate (the receiver drops it by webhook-id), one that is long only
 * delays a dead consumer's deliveries.
 */
export const WEBHOOK_LEASE_MARGIN_MS = 5_000;
/** Backoff of the loop while Redis does not answer its claims, capped so it notices Redis's return quickly. */
const CLAIM_RETRY_MIN_MS = 100;
const CLAIM_RETRY_MAX_MS = 2_000;
/** After close() aborts the attempts, how long it waits for them to notice: they only stop listening to sockets. */
const ABORT_WAIT_MS = 1_000;
/** A garbage member as a failure entry quotes it: enough to find who wrote it. */
const QUOTED_MEMBER_LENGTH = 500;

export interface WebhookDelivererSettings extends WebhookConfigSettings {
  /** How often due deliveries are looked for; DEFAULT_WEBHOOK_POLL_MS. */
  readonly pollMs?: number;
  /** How long a claimed delivery is this consumer's; webhookLeaseMs(timeoutMs) by default. */
  readonly leaseMs?: number;
}

export interface WebhookDelivererDeps {
  /** The consumer's commands connection: shared, not closed here. */
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly log: Logger;
  /** For its schemas: set, a job's input and result are JSON text, sent as values. */
  readonly model: Pick<Model, 'schemas'>;
  readonly settings: WebhookDelivererSettings;
  /** DNS, or a stand-in for tests. */
  readonly lookup?: LookupAll;
}

/** Deliveries this consumer settled, by outcome (attempts, for `retried`). */
export interface WebhookStats {
  delivered: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  /** Deliveries that failed for good, onto the failures stream. */
  failed: number;
  /** Deliveries the receiver ended with 410 Gone. */
  gone: number;
}

export interface WebhookDeliverer {
  /** Starts the loop; it runs until close(). Idempotent. */
  start(): void;
  /**
   * Stops claiming, lets the attempts in hand finish within `graceMs`, then
   * aborts the rest, which stay claimed until their lease ends (then another
   * consumer sends them). Resolves within about `graceMs`. Idempotent.
   */
  close(graceMs: number): Promise<void>;
  readonly stats: Readonly<WebhookStats>;
  inFlight(): number;
}

/** The default lease: the attempt's deadline, its DNS lookup's, and WEBHOOK_LEASE_MARGIN_MS. */
export function webhookLeaseMs(timeoutMs: number): number {
  return timeoutMs + DEFAULT_WEBHOOK_LOOKUP_TIMEOUT_MS + WEBHOOK_LEASE_MARGIN_MS;
}

/** What becomes of one claimed delivery: settle-webhook's action and its arguments. */
type Settlement =
  | { readonly action: 'done' }
  | { readonly action: 'retry'; readonly next: string; readonly delayMs: number }
  | { readonly action: 'fail'; readonly fields: Readonly<Record<string, string>> };

export function createWebhookDeliverer(deps: WebhookDelivererDeps): WebhookDeliverer {
  const { redis, keys, log, model, settings, lookup } = deps;
  const pollMs = settings.pollMs ?? DEFAULT_WEBHOOK_POLL_MS;
  const leaseMs = settings.leaseMs ?? webhookLeaseMs(settings.timeoutMs);
  const signer = createWebhookSigner(settings.secret);
  const jsonValues = model.schemas !== undefined;
  const stats: WebhookStats = { delivered: 0, retried: 0, failed: 0, gone: 0 };
  // Each attempt in hand, by the controller that aborts it on close.
  const inFlight = new Map<AbortController, Promise<void>>();
  redis.defineCommand('foretellClaimWebhooks', { lua: CLAIM_WEBHOOKS_LUA });
  redis.defineCommand('foretellSettleWebhook', { lua: SETTLE_WEBHOOK_LUA });

  let started = false;
  let closing: Promise<void> | undefined;
  const stopped = new AbortController();
  // Ends the loop's wait early: a slot freed after a full claim (more may be due), or close().
  let wake: (() => void) | undefined;
  let lastClaimWasFull = false;

  /** Ends `member`'s claim; counted only when it held (another consumer's settle counts otherwise). */
  async function settle(member: string, leaseEndMs: number, settlement: Settlement): Promise<boolean> {
    const args = [member, String(leaseEndMs), settlement.action];
    if (settlement.action === 'retry') args.push(settlement.next, String(settlement.delayMs));
    if (settlement.action === 'fail') {
      args.push(String(settings.failuresMaxLength), ...Object.entries(settlement.fields).flat());
    }
    const settled = (await redis.foretellSettleWebhook(2, keys.webhooks, keys.webhookFailures, ...args)) === 1;
    if (!settled)
      log.info(
        { member },
        'webhook not settled: no longer claimed by this consumer (its lease ran out and another consumer took it over)',
      );
    return settled;
  }

  async function failForGood(member: string, leaseEndMs: number, delivery: WebhookDelivery, error: string) {
    const { id, event, url, wid, attempt } = delivery;
    const fields = { id, event, url, wid, attempts: String(attempt), error };
    if (await settle(member, leaseEndMs, { action: 'fail', fields })) {
      stats.failed += 1;
      log.warn({ jobId: id, event, wid, attempts: attempt, error }, 'webhook failed for good');
    }
  }

  /** A failed attempt: another one later, unless it was the last. */
  async function retryOrFail(
    member: string,
    leaseEndMs: number,
    delivery: WebhookDelivery,
    error: string,
    retryAfterMs?: number,
  ) {
    if (delivery.attempt >= settings.maxAttempts) return failForGood(member, leaseEndMs, delivery, error);
    const delayMs = webhookRetryDelayMs(delivery.attempt, retryAfterMs);
    const next = encodeWebhookDelivery({ ...delivery, attempt: delivery.attempt + 1 });
    if (await settle(member, leaseEndMs, { action: 'retry', next, delayMs })) {
      stats.retried += 1;
      log.info(
        { jobId: delivery.id, event: delivery.event, attempt: delivery.attempt, delayMs, error },
        'webhook attempt failed; retrying',
      );
    }
  }

  /** One claimed member, from decoding to settling. An abort (close) leaves it claimed, to its lease. */
  async function deliver(member: string, leaseEndMs: number, signal: AbortSignal): Promise<void> {
    const delivery = decodeWebhookDelivery(member);
    if (delivery === undefined) {
      const quoted = member.length > QUOTED_MEMBER_LENGTH ? `${member.slice(0, QUOTED_MEMBER_LENGTH)}…` : member;
      const fields = { member: quoted, error: 'not a webhook delivery foretell wrote' };
      if (await settle(member, leaseEndMs, { action: 'fail', fields })) {
        stats.failed += 1;
        log.warn({ member: quoted }, 'webhook: a member of the deliveries set does not parse; recorded as failed');
      }
      return;
    }
    const parsedUrl = parseWebhookUrl(delivery.url);
    if (!parsedUrl.ok) return failForGood(member, leaseEndMs, delivery, parsedUrl.error);
    const hash = await redis.hgetall(keys.job(delivery.id));
    // The attempt's time, in the payload and the signature alike. Built before DNS: an expired
    // job, or one without an outcome, fails at once.
    const timestamp = new Date();
    const built = buildWebhookPayload(delivery, hash, { jsonValues, timestamp });
    if (!built.ok) return failForGood(member, leaseEndMs, delivery, built.error);

    let target: ResolvedTarget;
    try {
      target = await resolveWebhookTarget(parsedUrl.url, {
        allowPrivate: settings.allowPrivate,
        ...(lookup && { lookup }),
      });
    } catch (error) {
      if (!(error instanceof WebhookTargetError)) throw error;
      // A non-public address stays one; DNS that failed may answer next time.
      if (error.problem === 'not-public') return failForGood(member, leaseEndMs, delivery, error.message);
      return retryOrFail(member, leaseEndMs, delivery, error.message);
    }
    if (signal.aborted) return;

    const body = JSON.stringify(built.payload);
    const headers = signer.sign(delivery.wid, timestamp, body);
    const outcome = await sendWebhook({
      url: parsedUrl.url,
      addresses: target.addresses,
      body,
      headers,
      timeoutMs: settings.timeoutMs,
      signal,
    });
    // Cut short by close(): not the receiver's doing, so not an attempt; it is sent again after the lease.
    if (outcome.kind === 'retry' && signal.aborted) return;
    switch (outcome.kind) {
      case 'delivered':
        if (await settle(member, leaseEndMs, { action: 'done' })) stats.delivered += 1;
        return;
      case 'gone':
        if (await settle(member, leaseEndMs, { action: 'done' })) {
          stats.gone += 1;
          log.info(
            { jobId: delivery.id, event: delivery.event, wid: delivery.wid },
            'webhook receiver answered 410 Gone: not sent again',
          );
        }
        return;
      case 'retry':
        return retryOrFail(member, leaseEndMs, delivery, outcome.error, outcome.retryAfterMs);
    }
  }

  function launch(member: string, leaseEndMs: number): void {
    const controller = new AbortController();
    const attempt = deliver(member, leaseEndMs, controller.signal)
      .catch((error: unknown) => {
        // Redis away, or a bug: the delivery stays claimed and is taken again when its lease ends.
        log.warn({ err: error, member }, 'webhook attempt not settled; retried when its lease ends');
      })
      .finally(() => {
        inFlight.delete(controller);
        if (lastClaimWasFull) wake?.();
      });
    inFlight.set(controller, attempt);
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopped.signal.aborted) {
      const room = settings.concurrency - inFlight.size;
      if (room > 0) {
        try {
          const claim = decodeWebhookClaim(
            await redis.foretellClaimWebhooks(1, keys.webhooks, String(room), String(leaseMs)),
          );
          failures = 0;
          // Claimed as close() began: left to their lease, as the attempts close() aborts are.
          if (stopped.signal.aborted) break;
          for (const member of claim.members) launch(member, claim.leaseEndMs);
          lastClaimWasFull = claim.members.length === room;
          if (lastClaimWasFull && inFlight.size < settings.concurrency) continue;
        } catch (error) {
          if (stopped.signal.aborted) break;
          failures += 1;
          const delayMs = Math.min(CLAIM_RETRY_MIN_MS * 2 ** (failures - 1), CLAIM_RETRY_MAX_MS);
          if (failures === 1 || delayMs === CLAIM_RETRY_MAX_MS) {
            log.warn({ err: error, failures }, 'webhook deliveries could not be claimed; trying again');
          }
          await sleep(delayMs, undefined, { signal: stopped.signal }).catch(() => undefined);
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (stopped.signal.aborted) wake();
      });
      wake = undefined;
    }
  }

  async function close(graceMs: number): Promise<void> {
    stopped.abort();
    wake?.();
    const drained = Promise.all(inFlight.values()).then(() => 'drained' as const);
    const graceOver = sleep(graceMs, 'grace over' as const, { ref: false });
    if ((await Promise.race([drained, graceOver])) === 'drained') return;
    log.warn(
      { inFlight: inFlight.size },
      'webhook attempts still running at shutdown: aborted, sent again after their lease',
    );
    for (const controller of inFlight.keys()) controller.abort();
    // Those waiting on Redis are not waited for: the caller closes the connection next.
    await Promise.race([drained, sleep(ABORT_WAIT_MS, undefined, { ref: false })]);
  }

  return {
    start() {
      if (started || stopped.signal.aborted) return;
      started = true;
      loop().catch((error: unknown) => log.error({ err: error }, 'webhook loop stopped'));
    },
    close(graceMs) {
      closing ??= close(graceMs);
      return closing;
    },
    stats,
    inFlight: () => inFlight.size,
  };
}

/**
 * With webhooks off (no WEBHOOK_SECRET), says once at startup whether
 * deliveries are waiting: the API queues them whenever a request asks, and
 * nothing would send them.
 */
export async function warnOfUnsentWebhooks(redis: Redis, keys: RedisKeys, log: Logger): Promise<void> {
  try {
    const waiting = await redis.zcard(keys.webhooks);
    if (waiting > 0) {
      log.warn(
        { waiting, key: keys.webhooks },
        'webhook deliveries are waiting but WEBHOOK_SECRET is unset: this consumer sends none',
      );
    }
  } catch (error) {
    log.warn({ err: error }, 'could not check for waiting webhook deliveries');
  }
}
