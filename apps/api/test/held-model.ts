import { mockResult, type Model } from '@foretell/shared';

export interface HeldCall {
  readonly input: string;
  readonly signal: AbortSignal;
}

/**
 * A model that answers only when the test releases it, so a call outlasts the
 * test's own steps however slow the machine, and rejects with its signal's
 * reason once aborted, as the Model contract asks.
 */
export interface HeldModel extends Model {
  /** Every call so far, in order. */
  readonly calls: readonly HeldCall[];
  /** Resolves with the first call, once it has started. */
  readonly called: Promise<HeldCall>;
  /** Lets every held call, and every later one, answer `mockResult(input)`. */
  release(): void;
}

export function heldModel(): HeldModel {
  const calls: HeldCall[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let firstCall: (call: HeldCall) => void = () => undefined;
  const called = new Promise<HeldCall>((resolve) => (firstCall = resolve));
  return {
    calls,
    called,
    release: () => release(),
    async predict(input, { signal }) {
      const call = { input, signal };
      calls.push(call);
      firstCall(call);
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        void released.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
      return mockResult(input);
    },
  };
}
