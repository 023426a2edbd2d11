import type { Static, TObject, TProperties, TSchema } from 'typebox';
import { Type, Value } from './typebox.js';

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

// Variables whose value is a secret as a whole: never echoed.
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEYS$/;
// `scheme://user:password@host`: the part between `//` and the last `@` before the path.
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** A URL without its user and password: what logs and error messages may show. */
export function redactCredentials(value: string): string {
  return value.replace(URL_CREDENTIALS, '$1***@');
}

/** A bad value as a config error shows it: quoted, credentials and secrets left out. */
function shown(name: string, raw: string): string {
  return SECRET_NAME.test(name) ? '(hidden)' : JSON.stringify(redactCredentials(raw));
}

/**
 * A rule across variables (one variable's bound set by another). It gets only
 * the variables that parsed, so it must skip a rule whose fields are missing,
 * and returns its problems, each starting with the variable to fix.
 */
export type ConfigCheck<T> = (parsed: Readonly<Partial<T>>) => readonly string[];

/**
 * Reads the variables a schema names from `env`, converts them to their
 * types, fills defaults and validates, then runs the cross-variable `checks`
 * on whatever parsed. Throws a ConfigError naming every bad variable at once,
 * those of the checks too, so an operator fixes them in one go. The result is
 * frozen. An empty variable counts as unset, as in docker compose's `FOO=`.
 *
 * `Config` is always `Static<T>`, never given: as a parameter of its own it
 * is worked out once T is known, at the call. Written `Static<T>` in the
 * signature, the result stayed TypeBox's conditional type, and relating it
 * to the caller's `Static<typeof Schema>` cost TypeScript 4 to 5 s in every
 * program that calls this (the build of each app, the repository's check).
 */
export function loadConfig<T extends TObject, Config = Static<T>>(
  schema: T,
  env: Readonly<Record<string, string | undefined>>,
  checks: readonly ConfigCheck<NoInfer<Config>>[] = [],
): Readonly<Config> {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      const fallback = (property as { default?: unknown }).default;
      if (fallback === undefined) problems.push(`${name}: is required`);
      else config[name] = fallback;
      continue;
    }
    const value = parseValue(property, raw);
    if (Value.Check(property, value)) config[name] = value;
    else problems.push(`${name}: ${expectation(property, value)} (got ${shown(name, raw)})`);
  }
  // A bad variable is not in `config`: the checks see it as missing.
  for (const check of checks) problems.push(...check(config as Partial<Config>));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as Readonly<Config>;
}

/** Variables both the API and the consumer read. */
export const CommonConfigProperties = {
  REDIS_URL: Type.String({
    default: 'redis://127.0.0.1:6379',
    // Schemes are case-insensitive (RFC 3986): `REDIS://` is `redis://`.
    pattern: '^[Rr][Ee][Dd][Ii][Ss][Ss]?://',
    description: 'Redis to connect to (redis:// or rediss://, with user, password and db if needed).',
  }),
  REDIS_SENTINELS: Type.String({
    default: '',
    maxLength: 4096,
    description:
      'Redis Sentinels as `host:port,host:port`; set, the apps connect to the master they name (REDIS_SENTINEL_NAME) and follow its failovers, and REDIS_URL gives only the user, password, db and TLS.',
  }),
  REDIS_SENTINEL_NAME: Type.String({
    default: 'mymaster',
    minLength: 1,
    maxLength: 256,
    pattern: '^[A-Za-z0-9._-]+$',
    description: 'Name of the master the sentinels monitor (`sentinel monitor <name> …`).',
  }),
  REDIS_SENTINEL_PASSWORD: Type.String({
    default: '',
    maxLength: 512,
    description:
      "Password of the sentinels themselves (their `requirepass`); empty: none. The data node's is REDIS_URL's.",
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
    // A year: EXPIRE (and its milliseconds in the scripts) stay far from overflow.
    maximum: 31536000,
    description:
      'How long a job hash lives: set at submission, renewed when it starts, with each heartbeat, when it is retried and at completion.',
  }),
  MODEL_MIN_LATENCY_MS: Type.Integer({
    default: 10000,
    minimum: 0,
    maximum: 3600000,
    description: 'Shortest latency of the mock model.',
  }),
  MODEL_MAX_LATENCY_MS: Type.Integer({
    default: 17000,
    minimum: 0,
    maximum: 3600000,
    description: 'Longest latency of the mock model (whole seconds are drawn when both bounds are whole seconds).',
  }),
  MODEL_MAX_BATCH_SIZE: Type.Integer({
    default: 32,
    minimum: 1,
    maximum: 1024,
    description:
      'A model with `predictBatch`: at most this many inputs per call; the sync requests and jobs that arrive together are gathered. 1: one input per call.',
  }),
  MODEL_MAX_BATCH_DELAY_MS: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 10000,
    description:
      'A model with `predictBatch`: how long the first input of a batch may wait for more. 0: only what arrives in the same event-loop turn is gathered.',
  }),
  MODEL_WORKERS: Type.String({
    default: '0',
    pattern: '^(auto|[0-9]|[1-5][0-9]|6[0-4])$',
    description:
      'Worker threads that run the model, each with its own copy: `0` runs it in the process, `auto` one per core, or 1 to 64.',
  }),
  MODEL_MODULE: Type.String({
    default: '',
    description:
      'Path (relative to the working directory) or package name of an ES module exporting `createModel(options)` that returns your model; empty uses the mock model.',
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

/** The model's latency range must not be upside down; skipped unless both bounds parsed. */
export const latencyRangeCheck: ConfigCheck<{ MODEL_MIN_LATENCY_MS: number; MODEL_MAX_LATENCY_MS: number }> = ({
  MODEL_MIN_LATENCY_MS: min,
  MODEL_MAX_LATENCY_MS: max,
}) =>
  min !== undefined && max !== undefined && min > max
    ? [`MODEL_MIN_LATENCY_MS: must not exceed MODEL_MAX_LATENCY_MS (got ${min} > ${max})`]
    : [];
