import { ReplyError, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictClient } from '../../../test/support/predict-client.js';
import { AppError } from '../src/errors.js';
import { classifyRedisFailure } from '../src/redis-failure.js';
import { startAppOnOwnRedis, type AppOnOwnRedis } from './build-test-app.js';

/** A reply error as ioredis raises it (its class is untyped where tests are type-checked). */
const reply = (message: string): Error => new (ReplyError as unknown as new (message: string) => Error)(message);

/** The code a failure is answered with: an AppError's, or none (it becomes a 500). */
function codeOf(error: unknown): string | undefined {
  const classified = classifyRedisFailure(error);
  return classified instanceof AppError ? classified.code : undefined;
}

describe('which failures are an outage (503) and which are a bug (500)', () => {
  it.each([
    ['the connection closed', new Error('Connection is closed.'), 'REDIS_UNAVAILABLE'],
    ['a command timeout', new Error('Command timed out'), 'REDIS_UNAVAILABLE'],
    [
      'no connection yet',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'REDIS_UNAVAILABLE',
    ],
    [
      'a refused socket',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'REDIS_UNAVAILABLE',
    ],
    ['a demoted primary', reply("READONLY You can't write against a read only replica."), 'REDIS_UNAVAILABLE'],
    ['a loading Redis', reply('LOADING Redis is loading the dataset in memory'), 'REDIS_UNAVAILABLE'],
    ['maxmemory', reply("OOM command not allowed when used memory > 'maxmemory'."), 'REDIS_FULL'],
    [
      'maxmemory inside a script',
      reply("ERR Error running script: OOM command not allowed when used memory > 'maxmemory'."),
      'REDIS_FULL',
    ],
    ['a wrong-type reply', reply('WRONGTYPE Operation against a key holding the wrong kind of value'), undefined],
    ['a bug in our code', new TypeError("Cannot read properties of undefined (reading 'some')"), undefined],
    ['a corrupt record', new Error('job hash does not match its schema'), undefined],
  ])('%s', (_, error, code) => {
    expect(codeOf(error)).toBe(code);
  });

  it('an error the API chose passes through as it is', () => {
    const chosen = new AppError('QUEUE_FULL');
    expect(classifyRedisFailure(chosen)).toBe(chosen);
  });
});

describe('a Redis at maxmemory (noeviction)', () => {
  let own: AppOnOwnRedis | undefined;
  let redis: Redis | undefined;
  let client: PredictClient;

  beforeAll(async () => {
    own = await startAppOnOwnRedis('full', 1000);
    ({ redis, client } = own);
  });

  afterAll(async () => {
    await own?.dispose();
  });

  it('an async POST is 503 REDIS_FULL with Retry-After and writes nothing; accepted again once memory is free', async () => {
    const connection = redis;
    if (!connection) throw new Error('no redis');
    await connection.config('SET', 'maxmemory-policy', 'noeviction');
    await connection.config('SET', 'maxmemory', '1');
    try {
      const refused = await client.post({ input: 'x' }, { 'async-mode': 'true' });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toBe('{"error":"The queue has no memory left; retry later.","code":"REDIS_FULL"}');
    } finally {
      await connection.config('SET', 'maxmemory', '0');
    }
    expect(await connection.dbsize()).toBe(0);
    await client.submit('x');
  });
});
