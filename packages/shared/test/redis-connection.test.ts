import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { CommonConfigProperties, ConfigError, loadConfig } from '../src/config-loader.js';
import {
  parseSentinels,
  reconnectOnReadOnly,
  redisConnectionOptions,
  redisSentinelsCheck,
} from '../src/redis-connection.js';

const Schema = Type.Object({ ...CommonConfigProperties });
const load = (env: Record<string, string>) => loadConfig(Schema, env, [redisSentinelsCheck]);

function problems(env: Record<string, string>): readonly string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('REDIS_SENTINELS', () => {
  it('parses host:port lists, IPv6 in brackets, and empty as none', () => {
    expect(parseSentinels('')).toEqual([]);
    expect(parseSentinels('sentinel-1:26379, 10.0.0.2:26380,[::1]:26381')).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
  });

  it.each([
    ['sentinel-1', '"sentinel-1"'],
    ['host:0', '"host:0"'],
    ['host:65536', '"host:65536"'],
    ['a:1,,b:2', '""'],
    ['http://host:1', '"http://host:1"'],
  ])('%s is a config error naming the variable and the item', (value, quoted) => {
    expect(problems({ REDIS_SENTINELS: value })).toEqual([
      `REDIS_SENTINELS: expected host:port[,host:port…] with ports 1–65535 (got ${quoted})`,
    ]);
  });

  it('refuses more than 16 sentinels and a master name with spaces', () => {
    const many = Array.from({ length: 17 }, (_, i) => `s${i}:26379`).join(',');
    expect(problems({ REDIS_SENTINELS: many })).toEqual(['REDIS_SENTINELS: at most 16 sentinels (got 17)']);
    expect(problems({ REDIS_SENTINEL_NAME: 'my master' })[0]).toMatch(/^REDIS_SENTINEL_NAME: /);
  });

  it('defaults to no sentinels and the master name mymaster', () => {
    const config = load({});
    expect(config.REDIS_SENTINELS).toBe('');
    expect(config.REDIS_SENTINEL_NAME).toBe('mymaster');
    expect(config.REDIS_SENTINEL_PASSWORD).toBe('');
  });
});

describe('connection options', () => {
  it('reconnect and resend on READONLY, and on nothing else', () => {
    expect(reconnectOnReadOnly(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(reconnectOnReadOnly(new Error('ERR unknown command'))).toBe(false);
    expect(reconnectOnReadOnly(new Error('OOM command not allowed'))).toBe(false);
  });

  it('without sentinels: the role tuning plus reconnectOnError, no sentinel options', () => {
    const options = redisConnectionOptions({ REDIS_URL: 'redis://h:1' }, { commandTimeout: 1000 });
    expect(options.commandTimeout).toBe(1000);
    expect(options.reconnectOnError).toBe(reconnectOnReadOnly);
    expect(options).not.toHaveProperty('sentinels');
  });

  it('with sentinels: the master by name, role master, the sentinel password, the failover detector', () => {
    const options = redisConnectionOptions(
      {
        REDIS_URL: 'rediss://:data-secret@ignored:6379/0',
        REDIS_SENTINELS: 's1:26379,s2:26380',
        REDIS_SENTINEL_NAME: 'queue',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      },
      { maxRetriesPerRequest: null },
    );
    expect(options).toMatchObject({
      maxRetriesPerRequest: null,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'queue',
      role: 'master',
      sentinelPassword: 'sentinel-secret',
      enableTLSForSentinelMode: true,
      failoverDetector: true,
    });
  });

  it('with sentinels and no sentinel password: none is sent', () => {
    const options = redisConnectionOptions({ REDIS_URL: 'redis://h:1', REDIS_SENTINELS: 's1:26379' });
    expect(options).not.toHaveProperty('sentinelPassword');
    expect(options).not.toHaveProperty('enableTLSForSentinelMode');
    expect(options.name).toBe('mymaster');
  });
});
