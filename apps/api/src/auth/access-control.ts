import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { apiKeyProblem } from './api-keys.js';
import { readBearerToken } from './bearer-token.js';
import { createKeyRateLimit } from './key-rate-limit.js';
import { createKeyRing } from './key-ring.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key the request came with (never the key); null when API keys are off. */
    apiKeyId: string | null;
  }
}

export type AccessHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AccessControl {
  /** onRequest hook: 401 without a valid key; sets `request.apiKeyId`. */
  readonly requireKey: AccessHook;
  /** `requireKey`, then the key's request rate (429 past it): for the /predict routes. */
  readonly admit: AccessHook;
  readonly rateLimitPerMinute: number;
  /** Jobs one key may have queued or running; 0 for no cap. */
  readonly maxJobsPerKey: number;
}

export interface AccessSettings {
  /** The secrets; none leaves every route open, as the seed contract is. */
  readonly apiKeys: readonly string[];
  /** 0 for no limit. */
  readonly rateLimitPerMinute: number;
  readonly maxJobsPerKey: number;
  /** Where the request counters live (`redisKeys(prefix).rateLimits`). */
  readonly rateLimitPrefix: string;
}

/** RFC 6750 §3: the challenge of every 401, with `error="invalid_token"` when a token was sent but is not a key. */
const CHALLENGE = 'Bearer realm="foretell"';
const INVALID_TOKEN_CHALLENGE = `${CHALLENGE}, error="invalid_token"`;

/**
 * Declares `request.apiKeyId` and, when keys are configured, returns the
 * hooks that check them. A refused request costs a hash of at most a few
 * hundred bytes and no Redis round trip; the answer is sent before the body
 * is read.
 */
export function installAccessControl(
  app: FastifyInstance,
  redis: Redis,
  settings: AccessSettings,
): AccessControl | undefined {
  app.decorateRequest('apiKeyId', null);
  if (settings.apiKeys.length === 0) return undefined;
  // The configuration refuses such keys already; a caller of buildApp gets the same rule.
  settings.apiKeys.forEach((key, index) => {
    const problem = apiKeyProblem(key);
    if (problem) throw new Error(`API key ${index + 1} of ${settings.apiKeys.length} ${problem}`);
  });

  const ring = createKeyRing(settings.apiKeys);
  const rateLimit =
    settings.rateLimitPerMinute > 0
      ? createKeyRateLimit(redis, settings.rateLimitPrefix, settings.rateLimitPerMinute)
      : undefined;

  const identify = (request: FastifyRequest, reply: FastifyReply): string => {
    const credentials = readBearerToken(request.headers.authorization);
    const keyId = credentials.kind === 'token' ? ring.identify(credentials.token) : undefined;
    if (keyId !== undefined) return keyId;
    const missing = credentials.kind === 'none';
    void reply.header('WWW-Authenticate', missing ? CHALLENGE : INVALID_TOKEN_CHALLENGE);
    throw new AppError(missing ? 'UNAUTHORIZED' : 'INVALID_API_KEY');
  };

  return {
    rateLimitPerMinute: settings.rateLimitPerMinute,
    maxJobsPerKey: settings.maxJobsPerKey,
    async requireKey(request, reply) {
      request.apiKeyId = identify(request, reply);
    },
    async admit(request, reply) {
      const keyId = identify(request, reply);
      request.apiKeyId = keyId;
      if (rateLimit) await rateLimit.consume(keyId);
    },
  };
}
