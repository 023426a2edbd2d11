import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJobMessage, decodeJobRecord, enqueueJobArgs, redisKeys } from '../src/index.js';

const ID = randomUUID();

describe('owners (API keys) in what foretell stores', () => {
  it('keeps an owner apart in every key: its idempotency keys and its set of jobs', () => {
    const keys = redisKeys('p');
    expect([keys.idempotency('k'), keys.idempotency('k', 'abc'), keys.ownerJobs('abc'), keys.backlogBytes]).toEqual([
      'p:idem:k',
      'p:owner:abc:idem:k',
      'p:owner:abc:jobs',
      'p:backlog-bytes',
    ]);
  });

  it('reads the owner of a stream entry and of a job hash, and refuses one that could not be part of a key', () => {
    expect(decodeJobMessage(['id', ID, 'input', 'x', 'owner', '0123456789abcdef'])).toEqual({
      ok: true,
      message: { id: ID, input: 'x', owner: '0123456789abcdef' },
    });
    expect(decodeJobMessage(['id', ID, 'input', 'x', 'owner', 'a:b']).ok).toBe(false);
    expect(decodeJobMessage(['id', ID, 'input', 'x', 'owner', 'a'.repeat(65)]).ok).toBe(false);
    expect(decodeJobRecord({ status: 'queued', input: 'x', attempts: '0', owner: 'key-1' })?.owner).toBe('key-1');
    expect(decodeJobRecord({ status: 'queued', input: 'x', attempts: '0' })?.owner).toBeUndefined();
  });

  it('lays out the enqueue-job call: the owner set, then the idempotency key scoped to the owner', () => {
    const keys = redisKeys('p');
    const call = { id: ID, input: 'x', ttlSeconds: 60, maxQueueLength: 5, maxQueueBytes: 100, now: 1_700_000_000_000 };
    expect(enqueueJobArgs(keys, call)).toEqual([
      3,
      `p:job:${ID}`,
      'p:jobs',
      'p:backlog-bytes',
      ID,
      'x',
      '60',
      '5',
      '100',
      '',
      '',
      '0',
      '1700000000000',
      '',
      '',
    ]);
    expect(
      enqueueJobArgs(keys, { ...call, owner: { id: 'abc', maxJobs: 2 }, idempotency: { key: 'k', fingerprint: 'f' } }),
    ).toEqual([
      5,
      `p:job:${ID}`,
      'p:jobs',
      'p:backlog-bytes',
      'p:owner:abc:jobs',
      'p:owner:abc:idem:k',
      ID,
      'x',
      '60',
      '5',
      '100',
      'f',
      'abc',
      '2',
      '1700000000000',
      '',
      '',
    ]);
    // The request's id and traceparent come last.
    const trace = { requestId: 'req-7', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
    expect(enqueueJobArgs(keys, { ...call, trace }).slice(-2)).toEqual([trace.requestId, trace.traceparent]);
  });
});
