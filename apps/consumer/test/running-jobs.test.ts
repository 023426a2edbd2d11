import { LazyAbort } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { JobCanceledError, RunningJobs } from '../src/running-jobs.js';

describe('RunningJobs', () => {
  it('cancels the one call of a job, as canceled, and says whether it held the job', () => {
    const running = new RunningJobs();
    const call = new LazyAbort();
    running.add('a', call);
    expect(running.cancel('b')).toBe(false);
    expect(running.cancel('a')).toBe(true);
    expect(call.reason).toBeInstanceOf(JobCanceledError);
    expect((call.reason as JobCanceledError).jobId).toBe('a');
  });

  it('holds a job twice (a reclaim racing its first delivery) and cancels both calls', () => {
    const running = new RunningJobs();
    const first = new LazyAbort();
    const second = new LazyAbort();
    running.add('a', first);
    running.add('a', second);
    expect(running.ids()).toEqual(['a']);
    expect(running.cancel('a')).toBe(true);
    expect([first.aborted, second.aborted]).toEqual([true, true]);
  });

  it('forgets each call when it ends, the job only once none is left', () => {
    const running = new RunningJobs();
    const first = new LazyAbort();
    const second = new LazyAbort();
    const third = new LazyAbort();
    running.add('a', first);
    running.add('a', second);
    running.add('a', third);
    running.delete('a', second);
    expect(running.cancel('a')).toBe(true);
    expect([first.aborted, second.aborted, third.aborted]).toEqual([true, false, true]);
    running.delete('a', first);
    expect(running.ids()).toEqual(['a']);
    running.delete('a', third);
    expect(running.ids()).toEqual([]);
    // A call that is not held (already forgotten) changes nothing.
    running.add('b', first);
    running.delete('b', second);
    expect(running.ids()).toEqual(['b']);
    running.delete('b', first);
    expect(running.cancel('b')).toBe(false);
  });

  it('aborts every call of every job with the reason at the end of the grace period', () => {
    const running = new RunningJobs();
    const calls = [new LazyAbort(), new LazyAbort(), new LazyAbort()];
    running.add('a', calls[0]!);
    running.add('a', calls[1]!);
    running.add('b', calls[2]!);
    const reason = new Error('grace period over');
    running.abortAll(reason);
    expect(calls.map((call) => call.reason)).toEqual([reason, reason, reason]);
    // The signal a model asks for afterwards is already aborted, with that reason.
    expect(calls[2]!.signal.aborted).toBe(true);
    expect(calls[2]!.signal.reason).toBe(reason);
  });
});
