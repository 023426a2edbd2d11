import type { JobNotifier } from './job-notifier.js';

/**
 * One open-ended waiter on a job, for a reader that follows it through
 * several changes (live events), where `awaitJob` waits once for the end.
 */
export interface JobWatch {
  /**
   * Resolves once Redis confirmed the subscription; read the job only after
   * it (race-free: a change after the read is then announced). Rejects when
   * Redis does not confirm in time.
   */
  subscribed(): Promise<void>;
  /**
   * Resolves true when the job should be read again (it was announced
   * started or finished since the last call, or the subscriber reconnected
   * and may have missed it); false when the watch is over: the app is
   * closing or `stop` was called.
   */
  changed(): Promise<boolean>;
  /** Frees the waiter at once (a client hung up, or the job ended). Idempotent. */
  stop(): void;
}

/**
 * Registers a waiter for `jobId`; undefined when the notifier takes none
 * (MAX_WAITERS waiting already, or the app is closing). The watch counts as
 * one waiter however long it lasts, and costs a Set entry until stopped.
 */
export function watchJob(notifier: JobNotifier, jobId: string): JobWatch | undefined {
  // Set by a wake while a read is in flight, so that the next `changed` does not sleep through it.
  let isStale = false;
  let isOver = false;
  let resume: (() => void) | undefined;
  const waiter = notifier.add(jobId, (reason) => {
    if (reason === 'closing') isOver = true;
    else isStale = true;
    resume?.();
  });
  if (!waiter) return undefined;
  return {
    subscribed: () => notifier.subscribed(),
    async changed() {
      if (!isStale && !isOver) await new Promise<void>((resolve) => (resume = resolve));
      resume = undefined;
      isStale = false;
      return !isOver;
    },
    stop() {
      isOver = true;
      notifier.remove(waiter);
      resume?.();
    },
  };
}
