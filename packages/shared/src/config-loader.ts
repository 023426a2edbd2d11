import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

const INTEGER = /^-?\d+$/;

/** Environment strings become numbers only when they are whole integers: "1.5" or "8080x" stay strings and fail. */
function parseValue(schema: TSchema, raw: string): unknown {
  const trimmed = raw.trim();
  return (schema as { type?: unknown }).type === 'integer' && INTEGER.test(trimmed) ? Number(trimmed) : raw;
}

/** "must be one of: info, debug" for an enumeration, the validator's first message otherwise. */
function expectation(schema: TSchema, value: unknown): string {
  const options = (schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((option) => option.const);
  if (options?.every((option) => typeof option === 'string')) return `must be one of: ${options.join(', ')}`;
  return Value.Errors(schema, value)[0]?.message ?? 'is invalid';
}

/**
 * Reads the variables a schema names from `env`, converts them to their
 * types, fills defaults and validates. Throws a ConfigError naming every bad
 * variable at once, so an operator fixes them in one go. The result is frozen.
 * An empty variable counts as unset, as in docker compose's `FOO=`.
 */
export function loadConfig<T extends TObject>(
  schema: T,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<Static<T>> {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      const fallback = (property as { default?: unknown }).default;
      if (fallback === undefined) problems.push(`${name}: is required`);
      config[name] = fallback;
      continue;
    }
    const value = parseValue(property, raw);
    if (Value.Check(property, value)) config[name] = value;
    else problems.push(`${name}: ${expectation(property, value)} (got ${JSON.stringify(raw)})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as Readonly<Static<T>>;
}

/** Variables both the API and the consumer read. */
export const CommonConfigProperties = {
  REDIS_URL: Type.String({
    default: 'redis://127.0.0.1:6379',
    pattern: '^rediss?://',
    description: 'Redis to connect to (redis:// or rediss://, with user, password and db if needed).',
  }),
  KEY_PREFIX: Type.String({
    default: 'foretell',
    minLength: 1,
    pattern: '^[^\\s{}]+$',
    description: 'Prefix of every Redis key, stream and channel; deployments sharing a Redis use distinct prefixes.',
  }),
  RESULT_TTL_SECONDS: Type.Integer({
    default: 86400,
    minimum: 1,
    description: 'How long a job hash lives, from submission and again from completion.',
  }),
  MODEL_MIN_LATENCY_MS: Type.Integer({
    default: 10000,
    minimum: 0,
    description: 'Shortest latency of the mock model.',
  }),
  MODEL_MAX_LATENCY_MS: Type.Integer({
    default: 17000,
    minimum: 0,
    description: 'Longest latency of the mock model (whole seconds are drawn when both bounds are whole seconds).',
  }),
  MODEL_MODULE: Type.String({
    default: '',
    description: 'Path of an ES module exporting `createModel()` that returns your model; empty uses the mock model.',
  }),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info', description: 'pino log level.' },
  ),
} satisfies TProperties;

/** Checks that no configuration asks for a model latency range that is upside down. */
export function checkLatencyRange(config: { MODEL_MIN_LATENCY_MS: number; MODEL_MAX_LATENCY_MS: number }): void {
  if (config.MODEL_MIN_LATENCY_MS > config.MODEL_MAX_LATENCY_MS) {
    throw new ConfigError([
      `MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got ${config.MODEL_MIN_LATENCY_MS} > ${config.MODEL_MAX_LATENCY_MS})`,
    ]);
  }
}
