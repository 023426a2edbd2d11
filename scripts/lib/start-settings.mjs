// The variables `npm start` itself acts on, checked before it installs or
// builds anything; the apps' own are checked by their loaders once built
// (app-config.mjs). Plain Node: runs before install.
import { resolve } from 'node:path';
import { DEFAULT_LOCAL_MAXMEMORY } from './local-redis.mjs';

/** The API listens only on this machine unless HOST says otherwise (compose and the images use 0.0.0.0). */
export const DEFAULT_START_HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;
const DEFAULT_LOCAL_REDIS_PORT = 6379;
const DEFAULT_METRICS_PORT = 9464;
const DEFAULT_METRICS_HOST = '0.0.0.0';
const INTEGER = /^\s*\d+\s*$/;
// What redis-server accepts for maxmemory: bytes, or a number with k, kb, m, mb, g or gb.
const MEMORY = /^\d+([kmg]b?)?$/i;

/** As the apps read a variable: unset and empty are the same. */
const valueOf = (env, name) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

/**
 * `{ port, host, localRedis }` from `env` (`localRedis` undefined when
 * REDIS_URL names a Redis to use), or throws (exitCode 1) naming every bad
 * variable, in the format of the apps' configuration errors.
 */
export function readStartSettings(env, root) {
  const problems = [];
  const integer = (name, fallback, minimum, maximum) => {
    const raw = valueOf(env, name);
    if (raw === undefined) return fallback;
    const value = Number(raw.trim());
    if (INTEGER.test(raw) && value >= minimum && value <= maximum) return value;
    problems.push(`${name}: must be a whole number from ${minimum} to ${maximum} (got ${JSON.stringify(raw)})`);
    return fallback;
  };
  const port = integer('PORT', DEFAULT_PORT, 0, 65535);
  const host = valueOf(env, 'HOST') ?? DEFAULT_START_HOST;
  // The consumer's own HTTP server (its config's defaults).
  const metrics = {
    port: integer('METRICS_PORT', DEFAULT_METRICS_PORT, 0, 65535),
    host: valueOf(env, 'METRICS_HOST') ?? DEFAULT_METRICS_HOST,
  };
  let localRedis;
  if (valueOf(env, 'REDIS_URL') === undefined) {
    const maxMemory = valueOf(env, 'LOCAL_REDIS_MAXMEMORY') ?? DEFAULT_LOCAL_MAXMEMORY;
    if (!MEMORY.test(maxMemory)) {
      problems.push(
        `LOCAL_REDIS_MAXMEMORY: must be bytes, or a number with kb, mb or gb (got ${JSON.stringify(maxMemory)})`,
      );
    }
    localRedis = {
      port: integer('LOCAL_REDIS_PORT', DEFAULT_LOCAL_REDIS_PORT, 1, 65535),
      dir: resolve(root, valueOf(env, 'LOCAL_REDIS_DIR') ?? '.data/redis'),
      maxMemory,
    };
  }
  if (problems.length > 0) {
    throw Object.assign(new Error(`invalid configuration:\n  ${problems.join('\n  ')}`), { exitCode: 1 });
  }
  return Object.freeze({ port, host, metrics, localRedis });
}
