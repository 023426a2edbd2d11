import { Type, type Static } from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  CommonConfigProperties,
  ConfigError,
  latencyRangeCheck,
  loadConfig,
  type ConfigCheck,
} from '../src/config-loader.js';

const Schema = Type.Object({
  ...CommonConfigProperties,
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
});

describe('loadConfig', () => {
  it('fills every default when nothing is set, and freezes the result', () => {
    const config = loadConfig(Schema, {});
    expect(config).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_SENTINELS: '',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: '',
      KEY_PREFIX: 'foretell',
      RESULT_TTL_SECONDS: 86400,
      MODEL_MIN_LATENCY_MS: 10000,
      MODEL_MAX_LATENCY_MS: 17000,
      MODEL_MAX_BATCH_SIZE: 32,
      MODEL_MAX_BATCH_DELAY_MS: 0,
      MODEL_WORKERS: '0',
      MODEL_MODULE: '',
      LOG_LEVEL: 'info',
      PORT: 8080,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("types its result as the schema's static type, and refuses a check of variables the schema lacks", () => {
    // Type-checked by npm test's check: a wrong type here fails it.
    const config: Readonly<Static<typeof Schema>> = loadConfig(Schema, { PORT: '81' }, [latencyRangeCheck]);
    const port: number = config.PORT;
    expect(port).toBe(81);
    // @ts-expect-error PORT is a number
    const asText: string = config.PORT;
    expect(asText).toBe(81);
    const ofOtherVariables: ConfigCheck<{ OTHER: number }> = () => ['OTHER: never set'];
    // @ts-expect-error a check of variables this schema does not have
    expect(() => loadConfig(Schema, {}, [ofOtherVariables])).toThrow('OTHER: never set');
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
    expect(problemsOf({ MODEL_MIN_LATENCY_MS: '20', MODEL_MAX_LATENCY_MS: '10' })).toEqual([
      'MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got 20 > 10)',
    ]);
    expect(
      loadConfig(Schema, { MODEL_MIN_LATENCY_MS: '10', MODEL_MAX_LATENCY_MS: '10' }, [latencyRangeCheck]),
    ).toMatchObject({ MODEL_MIN_LATENCY_MS: 10, MODEL_MAX_LATENCY_MS: 10 });
  });

  it('reports the cross-variable problems together with the bad variables', () => {
    expect(
      problemsOf({ PORT: 'eighty', MODEL_MIN_LATENCY_MS: '9', MODEL_MAX_LATENCY_MS: '3', RESULT_TTL_SECONDS: '-5' }),
    ).toEqual([
      'RESULT_TTL_SECONDS: must be >= 1 (got "-5")',
      'PORT: must be integer (got "eighty")',
      'MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got 9 > 3)',
    ]);
  });

  it('runs a cross-variable check only on the variables that parsed', () => {
    // The bad bound is named once, for itself; the range is not judged against a value that did not parse.
    expect(problemsOf({ MODEL_MIN_LATENCY_MS: '9', MODEL_MAX_LATENCY_MS: 'three' })).toEqual([
      'MODEL_MAX_LATENCY_MS: must be integer (got "three")',
    ]);
    // A bound left unset takes its default, against which the other is checked.
    expect(problemsOf({ MODEL_MIN_LATENCY_MS: '20000' })).toEqual([
      'MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got 20000 > 17000)',
    ]);
  });
});

/** The problems loadConfig names for `env`, in its order; none if it loads. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(Schema, env, [latencyRangeCheck]);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
