import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Consumer } from './stream-consumer.js';

export interface ShutdownDeps {
  readonly consumer: Consumer;
  /** The commands connection main.ts opened (and the consumer shares): closed here. */
  readonly redis: Redis;
  readonly graceMs: number;
  readonly log: Logger;
}

/**
 * Stops the consumer and closes the commands connection; resolves when the
 * process may exit, within the grace period even while Redis is unreachable.
 *
 * The consumer's connections retry for ever and queue their commands while
 * Redis is away (a finished job's result is worth keeping through an outage),
 * so a close that waits for them lasts as long as the outage; and ioredis
 * cannot cut that wait short: `disconnect()` while it waits to reconnect
 * leaves the queued commands unanswered for good (redis/ioredis#2169). So
 * the stop gives up on them instead, and the process exits, leaving the jobs
 * in hand pending in the group for another consumer: at once when nothing is
 * in hand, otherwise once the grace period is over (Redis may come back
 * meanwhile, and the results be written).
 */
export async function shutDown({ consumer, redis, graceMs, log }: ShutdownDeps): Promise<void> {
  const closing = consumer.close();
  // Once given up on, the close may still fail later, as the process exits: of no consequence.
  closing.catch(() => undefined);
  const closed = closing.then(() => 'closed' as const);
  let graceOver = false;
  let giveUp: (() => void) | undefined;
  const gaveUp = new Promise<'gave up'>((resolve) => {
    giveUp = () => resolve('gave up');
  });
  const check = () => {
    if (redis.status !== 'ready' && (graceOver || consumer.inFlight() === 0)) giveUp?.();
  };
  // 'close' is emitted on every lost connection, before each reconnect attempt.
  redis.on('close', check);
  const timer = setTimeout(() => {
    graceOver = true;
    check();
  }, graceMs);
  check();
  try {
    const outcome = await Promise.race([closed, gaveUp]);
    if (outcome === 'gave up') {
      log.warn(
        { inFlight: consumer.inFlight(), redisStatus: redis.status },
        'Redis unreachable while stopping: exiting without it; jobs in hand stay pending for another consumer',
      );
    }
  } finally {
    clearTimeout(timer);
    redis.off('close', check);
  }
  // QUIT on a connection that is not serving would wait in its offline queue.
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch((error: unknown) => {
    log.warn({ err: error }, 'redis quit failed');
    redis.disconnect();
  });
}
