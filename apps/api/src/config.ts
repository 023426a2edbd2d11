import {
  CommonConfigProperties,
  latencyRangeCheck,
  loadConfig,
  redisSentinelsCheck,
  TracingConfigProperties,
  WebhookConfigProperties,
  webhookSecretCheck,
  Type,
} from '@foretell/shared';
import type { Static } from 'typebox';
import { accessConfigCheck } from './auth/access-config.js';
import { httpTimeoutsCheck } from './http-timeouts-check.js';
import { replicaWaitCheck } from './replica-wait.js';

export const ApiConfigSchema = Type.Object({
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port the API listens on.' }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address the API binds to.' }),
  ...CommonConfigProperties,
  ...TracingConfigProperties,
  ...WebhookConfigProperties,
  SYNC_TIMEOUT_MS: Type.Integer({
    default: 30000,
    minimum: 1,
    // A Node timer longer than 2^31 - 1 ms fires at once: the bound keeps far below.
    maximum: 3600000,
    description: 'How long a synchronous POST /predict waits for the model before answering 504.',
  }),
  BODY_LIMIT_BYTES: Type.Integer({
    default: 1048576,
    minimum: 1,
    maximum: 104857600,
    description: 'Largest accepted request body; larger bodies get 413.',
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    default: 30000,
    minimum: 100,
    maximum: 3600000,
    description:
      'A request, body included, must arrive within this time, or it is answered 408 and its socket closed (slow uploads).',
  }),
  HEADERS_TIMEOUT_MS: Type.Integer({
    default: 10000,
    minimum: 100,
    maximum: 3600000,
    description:
      'The request headers must arrive within this time (at most REQUEST_TIMEOUT_MS), or 408 and the socket is closed.',
  }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({
    default: 72000,
    minimum: 0,
    maximum: 3600000,
    description:
      "How long an idle keep-alive connection stays open; above a load balancer's idle timeout (60 s on AWS ALB) so that it closes first. 0: no keep-alive.",
  }),
  MAX_CONNECTIONS: Type.Integer({
    default: 2048,
    minimum: 1,
    maximum: 1000000,
    description:
      'Open sockets the API accepts at once; beyond, new connections are closed unanswered. Bounds the memory of stalled uploads (up to BODY_LIMIT_BYTES each).',
  }),
  MAX_QUEUE_LENGTH: Type.Integer({
    default: 100000,
    minimum: 0,
    maximum: 100000000,
    description: 'Backlog (jobs waiting or running) at which async submissions get 503; 0 for no cap.',
  }),
  MAX_QUEUE_BYTES: Type.Integer({
    default: 67108864,
    minimum: 0,
    maximum: 1099511627776,
    description:
      'Bytes of the inputs of the backlog (jobs waiting or running) beyond which async submissions get 503; 0 for no cap.',
  }),
  WEBHOOK_MAX_PENDING: Type.Integer({
    default: 100000,
    minimum: 0,
    maximum: 100000000,
    description:
      'Webhook deliveries waiting to be sent (ZCARD of {prefix}:webhooks) at which async submissions with a webhook get 503 WEBHOOKS_FULL (receivers that are down make them pile up); 0 for no cap.',
  }),
  MAX_SYNC_IN_FLIGHT: Type.Integer({
    default: 256,
    minimum: 1,
    maximum: 100000,
    description: 'Synchronous predictions running at once beyond which new ones get 503.',
  }),
  MAX_WAIT_SECONDS: Type.Integer({
    default: 60,
    minimum: 0,
    // An hour: past it a client is better served by a webhook than by a held connection.
    maximum: 3600,
    description:
      'Longest wait of `GET /predict/{id}?wait=N` and `Prefer: wait=N`; a longer one is capped to it, not refused. 0: answer at once.',
  }),
  MAX_WAITERS: Type.Integer({
    default: 10000,
    minimum: 0,
    maximum: 1000000,
    description:
      'Requests waiting for a job at once in this process; beyond, a request with a wait answers at once, as without one (no `Preference-Applied`). 0: no waiting.',
  }),
  REDIS_TIMEOUT_MS: Type.Integer({
    default: 1000,
    minimum: 1,
    maximum: 600000,
    description: 'How long a request waits on Redis before answering 503 instead of hanging.',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    default: 30000,
    minimum: 0,
    maximum: 3600000,
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
  }),
  REDIS_WAIT_REPLICAS: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 16,
    description:
      'Replicas that must acknowledge an async job (Redis `WAIT`) before its 202; fewer within REDIS_WAIT_TIMEOUT_MS answer 503 NOT_REPLICATED. 0: off.',
  }),
  REDIS_WAIT_TIMEOUT_MS: Type.Integer({
    default: 500,
    minimum: 1,
    maximum: 60000,
    description: 'How long an async POST waits for REDIS_WAIT_REPLICAS acknowledgements; less than REDIS_TIMEOUT_MS.',
  }),
  API_KEYS: Type.String({
    default: '',
    description:
      'Comma-separated API keys (each 32–256 characters of A-Z a-z 0-9 - . _ ~ + /); set, every /predict route needs `Authorization: Bearer <key>`. Empty: open.',
  }),
  API_KEYS_FILE: Type.String({
    default: '',
    description: 'File with one API key per line (blank lines and `#` comments ignored), instead of API_KEYS.',
  }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 1000000,
    description: 'Requests to /predict per API key and minute, across all API processes, beyond which 429; 0 for none.',
  }),
  MAX_JOBS_PER_KEY: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 1000000,
    description: 'Async jobs one API key may have queued or running, beyond which 429; 0 for no cap.',
  }),
  DOCS_PUBLIC: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'true',
    description: 'With API keys: `false` makes /docs and /docs/json need a key too.',
  }),
  DASHBOARD: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'true',
    description:
      '`false`: no /dashboard (404). Its data, under /dashboard/api/, needs an API key when keys are on; the page asks for one.',
  }),
});
export type ApiConfig = Readonly<Static<typeof ApiConfigSchema>>;

export function loadApiConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  return loadConfig(ApiConfigSchema, env, [
    latencyRangeCheck,
    accessConfigCheck,
    redisSentinelsCheck,
    replicaWaitCheck,
    httpTimeoutsCheck,
    webhookSecretCheck,
  ]);
}
