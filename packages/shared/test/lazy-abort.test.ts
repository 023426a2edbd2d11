import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../src/lazy-abort.js';

describe('LazyAbort', () => {
  it('gives an aborted signal, with the reason, when aborted before the signal was asked for', () => {
    const lazy = new LazyAbort();
    const reason = new Error('client gone');
    lazy.abort(reason);
    expect(lazy.signal.aborted).toBe(true);
    expect(lazy.signal.reason).toBe(reason);
  });

  it('aborts a signal already handed out, once', () => {
    const lazy = new LazyAbort();
    const { signal } = lazy;
    expect(signal.aborted).toBe(false);
    lazy.abort('timeout');
    lazy.abort('later');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('timeout');
    expect(lazy.signal).toBe(signal);
  });
});

describe('LazyAbort onCreate', () => {
  it('runs once, when the signal is first asked for', () => {
    let created = 0;
    const lazy = new LazyAbort(() => (created += 1));
    expect(created).toBe(0);
    void lazy.signal;
    void lazy.signal;
    expect(created).toBe(1);
  });
});

describe('LazyAbort aborted and reason', () => {
  it('tell whether and why it was aborted without making the controller', () => {
    let created = 0;
    const lazy = new LazyAbort(() => (created += 1));
    expect([lazy.aborted, lazy.reason]).toEqual([false, undefined]);
    const reason = new Error('canceled');
    lazy.abort(reason);
    lazy.abort(new Error('later'));
    expect([lazy.aborted, lazy.reason]).toEqual([true, reason]);
    expect(created).toBe(0);
    expect(lazy.signal.reason).toBe(reason);
    expect(created).toBe(1);
  });
});
