import { checkLatencyRange, CommonConfigProperties, loadConfig } from '@foretell/shared';
import { Type, type Static } from 'typebox';

export const ConsumerConfigSchema = Type.Object({
  ...CommonConfigProperties,
  CONSUMER_CONCURRENCY: Type.Integer({
    default: 256,
    minimum: 1,
    maximum: 100000,
    description: 'Jobs one consumer runs at once. The mock model waits rather than computes, so hundreds are cheap.',
  }),
  CONSUMER_NAME: Type.String({
    default: '',
    description: 'Name of this consumer in the group; empty means `<hostname>-<pid>`, unique per process.',
  }),
  CONSUMER_BLOCK_MS: Type.Integer({
    default: 5000,
    minimum: 1,
    description: 'How long one XREADGROUP waits for new entries before asking again.',
  }),
  MAX_ATTEMPTS: Type.Integer({
    default: 3,
    minimum: 1,
    description: 'Attempts per job, the first included, before it fails for good; a reclaim after a crash counts.',
  }),
  RETRY_BASE_DELAY_MS: Type.Integer({
    default: 1000,
    minimum: 0,
    description: 'Delay before the first retry; doubled for each further one, with jitter.',
  }),
  RETRY_MAX_DELAY_MS: Type.Integer({
    default: 60000,
    minimum: 0,
    description: 'Longest delay between two attempts.',
  }),
  CLAIM_IDLE_MS: Type.Integer({
    default: 30000,
    minimum: 100,
    description: 'An entry pending this long without a heartbeat (its consumer died) is reclaimed by another consumer.',
  }),
  CONSUMER_REMOVE_IDLE_MS: Type.Integer({
    default: 3600000,
    minimum: 1000,
    description: 'Consumers idle this long with nothing pending are removed from the group.',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 30000,
    minimum: 0,
    description: 'On SIGTERM/SIGINT, how long jobs in hand may run; unfinished ones stay pending for another consumer.',
  }),
});
export type ConsumerConfig = Readonly<Static<typeof ConsumerConfigSchema>>;

export function loadConsumerConfig(env: Readonly<Record<string, string | undefined>>): ConsumerConfig {
  const config = loadConfig(ConsumerConfigSchema, env);
  checkLatencyRange(config);
  return config;
}
