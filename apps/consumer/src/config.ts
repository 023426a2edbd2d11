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
