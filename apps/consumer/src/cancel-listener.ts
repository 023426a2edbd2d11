import type { RedisKeys } from '@foretell/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RunningJobs } from './running-jobs.js';

/** The client name of a consumer's cancel listener, as CLIENT LIST shows it (like its reader's, with the group). */
export function cancelListenerConnectionName(keys: RedisKeys, consumerName: string): string {
  return `foretell-cancels:${keys.group}:${consumerName}`.replace(/[^\w.:-]/g, '_');
}

export interface CancelListener {
  /** Resolves once subscribed: from then on no cancel of a job this consumer starts is missed. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Listens on the canceled channel (cancel-job.lua announces there each job
 * canceled while running) and aborts the model call of each such job this
 * consumer holds, in the time a PUBLISH takes. Pub/sub is fire and forget:
 * a cancel sent while this connection was down is not received, so on every
 * (re)subscription the statuses of the jobs in hand are read once and those
 * canceled meanwhile aborted. A job whose call is not aborted at all still
 * ends canceled (its outcome is stored first): the model only ran longer.
 */
export function listenForCancels(
  redis: Redis,
  keys: RedisKeys,
  consumerName: string,
  running: RunningJobs,
  log: Logger,
): CancelListener {
  const subscriber = redis.duplicate({ connectionName: cancelListenerConnectionName(keys, consumerName) });
  subscriber.on('error', (err) => log.warn({ err }, 'redis cancel listener connection error'));
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (running.cancel(jobId)) log.info({ jobId }, 'job canceled while running; model call aborted');
  });

  async function abortCanceledInHand(): Promise<void> {
    const ids = running.ids();
    if (ids.length === 0) return;
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(keys.job(id), 'status');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, status], i) => {
      const id = ids[i];
      if (!error && status === 'canceled' && id !== undefined && running.cancel(id)) {
        log.info({ jobId: id }, 'job canceled while the cancel listener was away; model call aborted');
      }
    });
  }

  // ioredis emits `ready` after each reconnect, then subscribes again in the
  // same tick: a PING sent from a later tick is answered after the SUBSCRIBE,
  // so once it is, no cancel is missed, and the statuses are read then.
  let first = true;
  subscriber.on('ready', () => {
    if (first) return;
    setImmediate(() => {
      void subscriber
        .ping()
        .then(abortCanceledInHand)
        .catch((err: unknown) => log.warn({ err }, 'could not check the jobs in hand for cancels'));
    });
  });
  const ready = subscriber.subscribe(keys.canceled).then(() => {
    first = false;
  });
  // Awaited by start(); a stop before it connects rejects it, and that is no crash.
  ready.catch(() => undefined);

  return {
    ready,
    close: async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
