import { describe, expect, it } from 'vitest';
import { decodeJobMessage } from '../src/job-message.js';
import { CorruptRecordError, decodeJobRecord } from '../src/job-record.js';
import { redisKeys } from '../src/redis-keys.js';

const ID = '3f2c1b9e-5d4a-4c7b-9a1e-2b6f8d0c4e11';

describe('job messages', () => {
  it('decode the field list XREADGROUP returns', () => {
    expect(decodeJobMessage(['id', ID, 'input', 'hello'])).toEqual({ ok: true, message: { id: ID, input: 'hello' } });
  });

  it.each([
    [['id', 'nope', 'input', 'x'], 'invalid job message: /id must match format "uuid"'],
    [['id', ID], 'invalid job message: / must have required properties input'],
    [['id', ID, 'input', ''], 'invalid job message: /input must not have fewer than 1 characters'],
    [['id', ID, 'input', 'x', 'extra', 'y'], 'invalid job message: /extra schema is false'],
    [['id', ID, 'input'], 'odd number of fields'],
  ])('reports %j as poison with a reason', (fields, reason) => {
    expect(decodeJobMessage(fields)).toEqual({ ok: false, reason });
  });
});

describe('job records', () => {
  it('decode a new job hash', () => {
    expect(decodeJobRecord({ status: 'queued', input: 'hi', attempts: '0', created: '1700000000000' })).toEqual({
      status: 'queued',
      input: 'hi',
      attempts: 0,
      created: 1700000000000,
    });
  });

  it('decode an empty hash (missing or expired) as undefined', () => {
    expect(decodeJobRecord({})).toBeUndefined();
  });

  it('refuse a hash foretell did not write', () => {
    expect(() => decodeJobRecord({ status: 'weird', input: 'x', attempts: '0', created: '1' })).toThrow(
      CorruptRecordError,
    );
    expect(() => decodeJobRecord({ status: 'queued', input: 'x', attempts: 'many', created: '1' })).toThrow(
      CorruptRecordError,
    );
  });
});

describe('redisKeys', () => {
  it('puts every name under the prefix', () => {
    const keys = redisKeys('p');
    expect([keys.jobs, keys.group, keys.dead, keys.done, keys.retries, keys.job(ID), keys.idempotency('k')]).toEqual([
      'p:jobs',
      'p:workers',
      'p:dead',
      'p:done',
      'p:retries',
      `p:job:${ID}`,
      'p:idem:k',
    ]);
    expect(redisKeys().jobs).toBe('foretell:jobs');
  });
});
