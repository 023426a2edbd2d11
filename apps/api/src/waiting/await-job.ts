import type { ServerResponse } from 'node:http';
import type { JobNotifier, WakeReason } from './job-notifier.js';

export interface AwaitJobOptions<T> {
  readonly notifier: JobNotifier;
  readonly jobId: string;
  /** Longest wait, in seconds (already capped at MAX_WAIT_SECONDS). */
  readonly seconds: number;
  /** Reads the job's current answer (one HGETALL). */
  readonly read: () => Promise<T>;
  /** Whether an answer is final: waiting for it ends. */
  readonly isFinal: (answer: T) => boolean;
  /** The response being held: its 'close' before the answer means the client hung up. */
  readonly response: ServerResponse;
}

export interface AwaitedJob<T> {
  readonly answer: T;
  /** False when no waiter could be registered (MAX_WAITERS, closing, or no subscription): read once, not waited. */
  readonly waited: boolean;
}

type Stop = 'timeout' | 'closing' | 'hung-up';

/**
 * Reads a job until its answer is final, waking only when it is announced
 * finished, and at most `seconds`. Race-free: the waiter is registered and
 * the subscription confirmed before the first read, so a job finishing
 * between the two is either seen by the read or announced after it. Answers
 * the last answer read when the time runs out, the app closes, or the client
 * hangs up (its waiter is freed at once; the answer then goes nowhere). A
 * waiter costs a Set entry, a timer and a listener, however hostile its client.
 */
export async function awaitJob<T>({
  notifier,
  jobId,
  seconds,
  read,
  isFinal,
  response,
}: AwaitJobOptions<T>): Promise<AwaitedJob<T>> {
  let stop: Stop | undefined;
  // An announcement that came while a read was in flight: read again.
  let isStale = false;
  let resume: (() => void) | undefined;
  const halt = (why: Stop) => {
    stop ??= why;
    resume?.();
  };
  const wake = (reason: WakeReason) => {
    // A job that started is not final: reading it again would only cost a round trip.
    if (reason === 'started') return;
    if (reason === 'closing') halt('closing');
    else isStale = true;
    resume?.();
  };
  const onHangUp = () => halt('hung-up');

  const waiter = notifier.add(jobId, wake);
  if (!waiter) return { answer: await read(), waited: false };
  response.once('close', onHangUp);
  // Hung up already (while the job was being queued): no 'close' is to come.
  if (response.socket?.destroyed === true) stop = 'hung-up';
  let timer: NodeJS.Timeout | undefined;
  try {
    try {
      await notifier.subscribed();
    } catch {
      // Redis did not confirm the subscription in time: no wait is possible, answer as without one.
      notifier.remove(waiter);
      return { answer: await read(), waited: false };
    }
    timer = setTimeout(halt, seconds * 1000, 'timeout');
    let answer = await read();
    while (!isFinal(answer) && stop === undefined) {
      if (!isStale) await new Promise<void>((resolve) => (resume = resolve));
      resume = undefined;
      // Closing or hung up: answer now, without another round trip.
      if (stop === 'closing' || stop === 'hung-up') break;
      if (isStale) {
        isStale = false;
        answer = await read();
      }
    }
    return { answer, waited: true };
  } finally {
    clearTimeout(timer);
    response.off('close', onHangUp);
    notifier.remove(waiter);
  }
}
