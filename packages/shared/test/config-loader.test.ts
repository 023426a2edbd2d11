import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { checkLatencyRange, CommonConfigProperties, ConfigError, loadConfig } from '../src/config-loader.js';

const Schema = Type.Object({
  ...CommonConfigProperties,
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
});

describe('loadConfig', () => {
  it('fills every default when nothing is set, and freezes the result', () => {
    const config = loadConfig(Schema, {});
    expect(config).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      KEY_PREFIX: 'foretell',
      RESULT_TTL_SECONDS: 86400,
      MODEL_MIN_LATENCY_MS: 10000,
      MODEL_MAX_LATENCY_MS: 17000,
      MODEL_MODULE: '',
      LOG_LEVEL: 'info',
      PORT: 8080,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('converts numbers and ignores variables it does not know, and empty ones', () => {
    const config = loadConfig(Schema, { PORT: '9000', RESULT_TTL_SECONDS: '60', UNRELATED: 'x', KEY_PREFIX: '' });
    expect(config.PORT).toBe(9000);
    expect(config.RESULT_TTL_SECONDS).toBe(60);
    expect(config.KEY_PREFIX).toBe('foretell');
  });

  it('names every bad variable, with what was given', () => {
    let error: unknown;
    try {
      loadConfig(Schema, { PORT: 'eighty', RESULT_TTL_SECONDS: '0', LOG_LEVEL: 'loud', REDIS_URL: 'localhost:6379' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT: must be integer (got "eighty")');
    expect(problems).toMatch(/RESULT_TTL_SECONDS: .* \(got "0"\)/);
    expect(problems).toMatch(/LOG_LEVEL: .* \(got "loud"\)/);
    expect(problems).toMatch(/REDIS_URL: .* \(got "localhost:6379"\)/);
  });

  it.each([['1.5'], ['-1'], ['70000'], ['1e3x']])('refuses PORT=%s', (value) => {
    expect(() => loadConfig(Schema, { PORT: value })).toThrow(ConfigError);
  });

  it('refuses a latency range whose minimum exceeds its maximum', () => {
    const config = loadConfig(Schema, { MODEL_MIN_LATENCY_MS: '20', MODEL_MAX_LATENCY_MS: '10' });
    expect(() => checkLatencyRange(config)).toThrow(/MODEL_MIN_LATENCY_MS/);
  });
});
