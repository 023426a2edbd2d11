import {
  CommonConfigProperties,
  latencyRangeCheck,
  loadConfig,
  redisSentinelsCheck,
  TracingConfigProperties,
  WebhookConfigProperties,
  webhookSecretCheck,
  type ConfigCheck,
  Type,
} from '@foretell/shared';
import type { Static } from 'typebox';
import { WebhookDeliveryConfigProperties } from './webhooks/webhook-config.js';

export const ConsumerConfigSchema = Type.Object({
  ...CommonConfigProperties,
  ...TracingConfigProperties,
  ...WebhookConfigProperties,
  ...WebhookDeliveryConfigProperties,
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
  METRICS_PORT: Type.Integer({
    default: 9464,
    minimum: 0,
    maximum: 65535,
    description: "Port of the consumer's own HTTP server: /metrics, /health, /ready; 0 picks a free port (logged).",
  }),
  METRICS_HOST: Type.String({
    default: '0.0.0.0',
    minLength: 1,
    description: 'Address that server binds to.',
  }),
  CONSUMER_BLOCK_MS: Type.Integer({
    default: 5000,
    minimum: 1,
    maximum: 600000,
    description: 'How long one XREADGROUP waits for new entries before asking again.',
  }),
  MAX_ATTEMPTS: Type.Integer({
    default: 3,
    minimum: 1,
    maximum: 1000,
    description: 'Attempts per job, the first included, before it fails for good; a reclaim after a crash counts.',
  }),
  RETRY_BASE_DELAY_MS: Type.Integer({
    default: 1000,
    minimum: 0,
    maximum: 86400000,
    description: 'Delay before the first retry; doubled for each further one, with jitter.',
  }),
  RETRY_MAX_DELAY_MS: Type.Integer({
    default: 60000,
    minimum: 0,
    maximum: 86400000,
    description: 'Longest delay between two attempts.',
  }),
  CLAIM_IDLE_MS: Type.Integer({
    default: 30000,
    minimum: 100,
    maximum: 3600000,
    description: 'An entry pending this long without a heartbeat (its consumer died) is reclaimed by another consumer.',
  }),
  CONSUMER_REMOVE_IDLE_MS: Type.Integer({
    default: 3600000,
    minimum: 1000,
    // A week: also below a Node timer's 2^31 - 1 ms.
    maximum: 604800000,
    description: 'Consumers idle this long with nothing pending are removed from the group.',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 30000,
    minimum: 0,
    maximum: 3600000,
    description: 'On SIGTERM/SIGINT, how long jobs in hand may run; unfinished ones stay pending for another consumer.',
  }),
  DEAD_LETTER_MAX_LENGTH: Type.Integer({
    default: 10000,
    minimum: 1,
    maximum: 10000000,
    description:
      'Dead letters kept; older ones are trimmed (approximately: whole blocks of about 100 entries, `XADD MAXLEN ~`).',
  }),
});
export type ConsumerConfig = Readonly<Static<typeof ConsumerConfigSchema>>;

/**
 * A consumer blocked in XREADGROUP, or running a long job between two
 * heartbeats, looks idle to the others: the sweep must wait far longer than
 * that before it removes a consumer.
 */
export const IDLE_SWEEP_FACTOR = 10;

const idleSweepCheck: ConfigCheck<ConsumerConfig> = ({
  CONSUMER_REMOVE_IDLE_MS: removeMs,
  CONSUMER_BLOCK_MS: blockMs,
  CLAIM_IDLE_MS: claimMs,
}) => {
  if (removeMs === undefined || blockMs === undefined || claimMs === undefined) return [];
  const least = IDLE_SWEEP_FACTOR * Math.max(blockMs, claimMs);
  return removeMs < least
    ? [
        `CONSUMER_REMOVE_IDLE_MS: must be at least ${IDLE_SWEEP_FACTOR} times CONSUMER_BLOCK_MS and CLAIM_IDLE_MS (${least}; got ${removeMs})`,
      ]
    : [];
};

/** Heartbeats renew the TTL of the jobs in hand every third of CLAIM_IDLE_MS: a TTL shorter than that would run out between two. */
const ttlCheck: ConfigCheck<ConsumerConfig> = ({ RESULT_TTL_SECONDS: ttlSeconds, CLAIM_IDLE_MS: claimMs }) =>
  ttlSeconds !== undefined && claimMs !== undefined && ttlSeconds * 1000 < claimMs
    ? [
        `RESULT_TTL_SECONDS: must be at least CLAIM_IDLE_MS in seconds (${Math.ceil(claimMs / 1000)}; got ${ttlSeconds})`,
      ]
    : [];

export function loadConsumerConfig(env: Readonly<Record<string, string | undefined>>): ConsumerConfig {
  return loadConfig(ConsumerConfigSchema, env, [
    latencyRangeCheck,
    idleSweepCheck,
    ttlCheck,
    redisSentinelsCheck,
    webhookSecretCheck,
  ]);
}
