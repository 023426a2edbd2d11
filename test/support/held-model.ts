import { mockResult, type Model } from '@foretell/shared';

/**
 * A model whose calls wait until the test lets them answer, so that no test
 * depends on a model call outlasting (or not) the test's own steps. Like any
 * model it rejects at once, with the signal's reason, when its call is aborted.
 */
export interface HeldModel extends Model {
  /** Inputs of every call so far, in order. */
  readonly calls: readonly string[];
  /** Resolves with the first call's input and signal, once it has started. */
  readonly called: Promise<HeldCall>;
  /** Calls waiting to be let go now. */
  held(): number;
  /** The most calls ever running at once (from their start until they answer or fail), held or not. */
  peak(): number;
  /** Calls that ended because their signal was aborted. */
  aborted(): number;
  /** Lets the oldest held call answer. */
  releaseOne(): void;
  /** Lets every held call answer, and every later call answer at once. */
  releaseAll(): void;
}

export interface HeldCall {
  readonly input: string;
  readonly signal: AbortSignal;
}

export function heldModel(answer: (input: string) => string = mockResult): HeldModel {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  let open = false;
  let running = 0;
  let peak = 0;
  let aborted = 0;
  let firstCall: (call: HeldCall) => void = () => undefined;
  const called = new Promise<HeldCall>((resolve) => (firstCall = resolve));
  function holdUntilReleased(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const release = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = waiting.indexOf(release);
        if (at >= 0) waiting.splice(at, 1);
        aborted += 1;
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.push(release);
    });
  }

  return {
    calls,
    called,
    held: () => waiting.length,
    peak: () => peak,
    aborted: () => aborted,
    releaseOne: () => waiting.shift()?.(),
    releaseAll() {
      open = true;
      for (const release of waiting.splice(0)) release();
    },
    async predict(input, { signal }) {
      calls.push(input);
      firstCall({ input, signal });
      signal.throwIfAborted();
      running += 1;
      peak = Math.max(peak, running);
      try {
        if (!open) await holdUntilReleased(signal);
        return answer(input);
      } finally {
        running -= 1;
      }
    },
  };
}
