import { ConfigError } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { ApiConfigSchema, loadApiConfig } from '../../apps/api/src/config.js';
import { ConsumerConfigSchema, loadConsumerConfig } from '../../apps/consumer/src/config.js';

/** The problems a configuration error lists, or [] when the environment loads. */
function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

// A Node timer of more than 2^31 - 1 ms fires after 1 ms.
const LONGEST_TIMER_MS = 2 ** 31 - 1;

describe('every number of both configurations has an upper bound', () => {
  const integers = [
    ...Object.entries(ApiConfigSchema.properties).map(([name, schema]) => ['api', name, schema] as const),
    ...Object.entries(ConsumerConfigSchema.properties).map(([name, schema]) => ['consumer', name, schema] as const),
  ].filter(([, , schema]) => (schema as { type?: unknown }).type === 'integer');

  it.each(integers)('%s %s', (_, name, schema) => {
    const { maximum, default: fallback } = schema as { maximum?: unknown; default?: unknown };
    expect(typeof maximum).toBe('number');
    expect(fallback as number).toBeLessThanOrEqual(maximum as number);
    if (name.endsWith('_MS')) expect(maximum as number).toBeLessThanOrEqual(LONGEST_TIMER_MS);
  });

  it.each([
    ['SYNC_TIMEOUT_MS', '2147483648'],
    ['RESULT_TTL_SECONDS', '9223372036854775'],
    ['REQUEST_TIMEOUT_MS', '2147483648'],
  ])('%s=%s is refused at start', (name, value) => {
    expect(problemsOf(() => loadApiConfig({ [name]: value }))).toEqual([
      expect.stringMatching(new RegExp(`^${name}: must be <= \\d+ \\(got "${value}"\\)$`)),
    ]);
  });

  it('a consumer timer beyond a Node timer is refused', () => {
    expect(problemsOf(() => loadConsumerConfig({ RETRY_MAX_DELAY_MS: '2147483648' }))).toHaveLength(1);
  });

  it('the headers deadline may not exceed the whole request one', () => {
    expect(problemsOf(() => loadApiConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' }))).toEqual([
      'HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS (got 6000 > 5000)',
    ]);
    expect(problemsOf(() => loadApiConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '5000' }))).toEqual([]);
  });
});

describe('REDIS_URL', () => {
  it('a refused URL is shown without its user and password', () => {
    const problems = problemsOf(() => loadApiConfig({ REDIS_URL: 'http://admin:hunter2@cache.internal:6379/0' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"http://***@cache.internal:6379/0"');
    expect(problems.join('\n')).not.toMatch(/hunter2|admin/);
  });

  it('a secret variable is never echoed', () => {
    const problems = problemsOf(() => loadConsumerConfig({ REDIS_SENTINEL_PASSWORD: 'p'.repeat(600) }));
    expect(problems).toEqual([expect.stringMatching(/^REDIS_SENTINEL_PASSWORD: .* \(got \(hidden\)\)$/)]);
  });

  it.each(['REDIS://127.0.0.1:6379', 'Rediss://cache:6380/1', 'redis://127.0.0.1'])(
    '%s is accepted (schemes are case-insensitive)',
    (url) => {
      expect(loadApiConfig({ REDIS_URL: url }).REDIS_URL).toBe(url);
    },
  );
});
