import { checkLatencyRange, CommonConfigProperties, loadConfig } from '@foretell/shared';
import { Type, type Static } from 'typebox';

export const ApiConfigSchema = Type.Object({
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port the API listens on.' }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address the API binds to.' }),
  ...CommonConfigProperties,
  SYNC_TIMEOUT_MS: Type.Integer({
    default: 30000,
    minimum: 1,
    description: 'How long a synchronous POST /predict waits for the model before answering 504.',
  }),
  BODY_LIMIT_BYTES: Type.Integer({
    default: 1048576,
    minimum: 1,
    description: 'Largest accepted request body; larger bodies get 413.',
  }),
  MAX_QUEUE_LENGTH: Type.Integer({
    default: 100000,
    minimum: 0,
    description: 'Backlog (jobs waiting or running) at which async submissions get 503; 0 for no cap.',
  }),
  MAX_SYNC_IN_FLIGHT: Type.Integer({
    default: 256,
    minimum: 1,
    description: 'Synchronous predictions running at once beyond which new ones get 503.',
  }),
  REDIS_TIMEOUT_MS: Type.Integer({
    default: 1000,
    minimum: 1,
    description: 'How long a request waits on Redis before answering 503 instead of hanging.',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 30000,
    minimum: 0,
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
  }),
});
export type ApiConfig = Readonly<Static<typeof ApiConfigSchema>>;

export function loadApiConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  const config = loadConfig(ApiConfigSchema, env);
  checkLatencyRange(config);
  return config;
}
