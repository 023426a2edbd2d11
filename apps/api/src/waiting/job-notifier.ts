import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Why a waiter is woken: its job was announced started (an attempt began:
 * live events send `processing`; long-poll ignores it) or finished; the subscriber
 * reconnected (an announcement may have been missed while it was away, so
 * the job must be read again); or the app is closing (answer now).
 */
export type WakeReason = 'started' | 'finished' | 'reconnected' | 'closing';

export interface Waiter {
  readonly jobId: string;
  readonly wake: (reason: WakeReason) => void;
}

export interface JobNotifier {
  /**
   * Registers a waiter for a job; undefined when `maxWaiters` are waiting
   * already or the app is closing (the request then answers at once). A
   * waiter costs one Set entry here; `remove` frees it.
   */
  add(jobId: string, wake: (reason: WakeReason) => void): Waiter | undefined;
  remove(waiter: Waiter): void;
  /**
   * Resolves once Redis has confirmed the subscription: an announcement
   * published after this resolves reaches the waiters. Opens the subscriber
   * connection on first use; rejects when Redis does not confirm in time.
   */
  subscribed(): Promise<void>;
  /** Waiters registered now (for tests and metrics). */
  waiters(): number;
  /** Whether a subscriber connection was opened (it is opened on the first wait). */
  isConnected(): boolean;
  /** Wakes every waiter with `closing` and refuses new ones; app.close() calls it before draining requests. */
  closing(): void;
  /** Closes the subscriber connection, if one was opened. Idempotent. */
  close(): Promise<void>;
}

export interface JobNotifierOptions {
  /** The app's commands connection: the subscriber is its duplicate, with the same server and settings. */
  readonly redis: Redis;
  /**
   * The channels the consumers' scripts publish job ids on: start-jobs each
   * started one (`redisKeys().started`), finish-jobs each finished one
   * (`redisKeys().done`). Both are subscribed on the one connection.
   */
  readonly channels: { readonly started: string; readonly finished: string };
  readonly maxWaiters: number;
  readonly log: FastifyBaseLogger;
}

/**
 * One subscriber connection per process, however many requests wait: the
 * waiters of a job are a Set under its id, and a message wakes only them.
 */
export function createJobNotifier({ redis, channels, maxWaiters, log }: JobNotifierOptions): JobNotifier {
  const byJob = new Map<string, Set<Waiter>>();
  let count = 0;
  let isClosing = false;
  let subscriber: Redis | undefined;
  let subscription: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  const wakeAll = (reason: WakeReason) => {
    for (const waiters of byJob.values()) for (const waiter of waiters) waiter.wake(reason);
  };

  function open(): Redis {
    // The offline queue on: a SUBSCRIBE sent while it connects waits for the connection
    // (the commands connection refuses at once instead). REDIS_TIMEOUT_MS still bounds it.
    const name = redis.options.connectionName;
    const connection = redis.duplicate({
      enableOfflineQueue: true,
      enableAutoPipelining: false,
      ...(name !== undefined && name !== '' && { connectionName: `${name}:waits` }),
    });
    connection.on('error', (err: unknown) => log.warn({ err }, 'job notifier: redis connection error'));
    connection.on('message', (from: string, jobId: string) => {
      const reason = from === channels.finished ? 'finished' : from === channels.started ? 'started' : undefined;
      if (reason === undefined) return;
      const waiters = byJob.get(jobId);
      if (waiters) for (const waiter of waiters) waiter.wake(reason);
    });
    let isFirstReady = true;
    connection.on('ready', () => {
      // A wait asked for the subscription and Redis never confirmed it (the
      // SUBSCRIBE timed out, or a reconnect dropped it from the offline queue):
      // subscribe now, so that the first wait after an outage can wait at once
      // instead of answering as without one until a later wait tries again.
      if (subscription === undefined && !isClosing) subscribe().catch(() => undefined);
      if (isFirstReady) {
        isFirstReady = false;
        return;
      }
      // ioredis re-sends SUBSCRIBE on reconnect before this event; the PING's
      // reply comes after Redis processed it, so a job read after it cannot
      // have finished unannounced.
      connection.ping().then(
        () => wakeAll('reconnected'),
        (err: unknown) => log.warn({ err }, 'job notifier: no answer after reconnecting'),
      );
    });
    return connection;
  }

  function subscribe(): Promise<void> {
    if (subscription) return subscription;
    subscriber ??= open();
    // One SUBSCRIBE for both channels: its reply confirms both at once.
    const pending = subscriber.subscribe(channels.started, channels.finished).then(() => undefined);
    subscription = pending;
    // A failed SUBSCRIBE is tried again by the next waiter, or when the connection is ready again.
    pending.catch(() => {
      if (subscription === pending) subscription = undefined;
    });
    return pending;
  }

  return {
    add(jobId, wake) {
      if (isClosing || count >= maxWaiters) return undefined;
      const waiter = { jobId, wake };
      let waiters = byJob.get(jobId);
      if (!waiters) {
        waiters = new Set();
        byJob.set(jobId, waiters);
      }
      waiters.add(waiter);
      count += 1;
      return waiter;
    },

    remove(waiter) {
      const waiters = byJob.get(waiter.jobId);
      if (!waiters?.delete(waiter)) return;
      count -= 1;
      if (waiters.size === 0) byJob.delete(waiter.jobId);
    },

    subscribed: subscribe,

    waiters: () => count,
    isConnected: () => subscriber !== undefined,

    closing() {
      isClosing = true;
      wakeAll('closing');
    },

    close() {
      closed ??= (async () => {
        isClosing = true;
        wakeAll('closing');
        if (!subscriber) return;
        await subscriber.quit().catch((err: unknown) => {
          log.warn({ err }, 'job notifier: quit failed');
          subscriber?.disconnect();
        });
      })();
      return closed;
    },
  };
}
