import { ConfigError } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { loadConsumerConfig } from '../src/config.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConsumerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('the consumer configuration', () => {
  it('caps the dead-letter stream at 10000 entries by default, within bounds', () => {
    expect(loadConsumerConfig({}).DEAD_LETTER_MAX_LENGTH).toBe(10000);
    expect(problemsOf({ DEAD_LETTER_MAX_LENGTH: '0' })).toEqual(['DEAD_LETTER_MAX_LENGTH: must be >= 1 (got "0")']);
    expect(problemsOf({ DEAD_LETTER_MAX_LENGTH: '10000001' })).toEqual([
      'DEAD_LETTER_MAX_LENGTH: must be <= 10000000 (got "10000001")',
    ]);
  });

  it('refuses an idle-consumer limit that is not far above the block and claim times', () => {
    expect(problemsOf({ CONSUMER_REMOVE_IDLE_MS: '299999' })).toEqual([
      'CONSUMER_REMOVE_IDLE_MS: must be at least 10 times CONSUMER_BLOCK_MS and CLAIM_IDLE_MS (300000; got 299999)',
    ]);
    expect(problemsOf({ CONSUMER_REMOVE_IDLE_MS: '300000' })).toEqual([]);
    expect(
      problemsOf({ CONSUMER_REMOVE_IDLE_MS: '600000', CONSUMER_BLOCK_MS: '60001', CLAIM_IDLE_MS: '1000' }),
    ).toEqual([
      'CONSUMER_REMOVE_IDLE_MS: must be at least 10 times CONSUMER_BLOCK_MS and CLAIM_IDLE_MS (600010; got 600000)',
    ]);
  });

  it('refuses a job TTL shorter than the claim timeout, which heartbeats could not keep alive', () => {
    expect(problemsOf({ RESULT_TTL_SECONDS: '29' })).toEqual([
      'RESULT_TTL_SECONDS: must be at least CLAIM_IDLE_MS in seconds (30; got 29)',
    ]);
    expect(problemsOf({ RESULT_TTL_SECONDS: '2', CLAIM_IDLE_MS: '2000' })).toEqual([]);
  });
});
