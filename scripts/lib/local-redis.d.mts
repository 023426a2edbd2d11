// Types of local-redis.mjs, which stays plain JavaScript because `npm start`
// runs it before anything is built.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export type RedisProcess = ChildProcessByStdio<null, Readable, Readable>;

/** `maxmemory` of `npm start`'s Redis unless LOCAL_REDIS_MAXMEMORY says otherwise: `256mb`. */
export const DEFAULT_LOCAL_MAXMEMORY: string;

/** The file in its data folder where `npm start`'s Redis writes its pid (`redis.pid`), written and removed by redis-server itself. */
export const REDIS_PID_FILE: string;

/** A port nobody listens on right now, outside the kernel's ephemeral range (free-port.mjs). */
export function freePort(): Promise<number>;

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function isPortTaken(port: number): Promise<boolean>;

export interface LaunchRedisOptions {
  /** The executable (default `redis-server`, from the PATH). */
  readonly redisServer?: string;
  /** Default: a free port. */
  readonly port?: number;
  /** Created if missing and kept; default: a new temporary folder, removed by `dispose()`. */
  readonly dir?: string;
  /** Name prefix of that temporary folder (default `foretell-redis-`). */
  readonly tempPrefix?: string;
  /** `appendonly yes` (fsync every second) instead of no persistence; default false. */
  readonly appendOnly?: boolean;
  /** `maxmemory` (bytes, or with a unit: `256mb`); default none (no limit). */
  readonly maxMemory?: string | number;
  /** Its own process group, so that Ctrl-C in a terminal does not reach it; default false. */
  readonly detached?: boolean;
  /** Called with each redis-server process (start and every restart) before it prints: read its output here. */
  readonly onSpawn?: (child: RedisProcess) => void;
  /** How long it may take to answer at all (an AOF replay that has begun may take longer); default 10 s. */
  readonly startTimeoutMs?: number;
  /** How long a SIGTERM may take before SIGKILL; default 10 s. */
  readonly stopGraceMs?: number;
  /** A configuration file, read before the arguments (a sentinel needs one it can rewrite); default none. */
  readonly configFile?: string;
  /** More arguments, after foretell's own (e.g. `--replicaof host port`, `--sentinel`); default none. */
  readonly extraArgs?: readonly string[];
}

export interface LocalRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** Of the current process: a restart starts a new one. */
  readonly pid: number | undefined;
  readonly child: RedisProcess;
  /** Stops the server (SIGTERM, or SIGKILL with `crash`); its folder is kept for a restart. */
  stop(options?: { readonly crash?: boolean }): Promise<void>;
  /** Stops it if running, then starts it again on the same port and folder (AOF replayed when on). */
  restart(): Promise<void>;
  /** Stops it and removes its folder if `launchRedis` made it. */
  dispose(): Promise<void>;
}

/**
 * Starts redis-server on 127.0.0.1 (`--save ''`, `noeviction`,
 * `hash-max-listpack-value 1024`, AOF and `maxmemory` as asked) and resolves once it answers
 * PING. Rejects at once, with its output, if it exits while starting.
 */
export function launchRedis(options?: LaunchRedisOptions): Promise<LocalRedis>;

export interface StartLocalRedisOptions {
  readonly redisServer: string;
  readonly port: number;
  readonly dir: string;
  readonly onLine: (child: RedisProcess) => void;
  /** Default DEFAULT_LOCAL_MAXMEMORY. */
  readonly maxMemory?: string | number;
}

/**
 * `npm start`'s Redis: AOF on, `maxmemory`, data kept in `dir` with its pid in REDIS_PID_FILE there, own
 * process group. Rejects (exitCode 1, naming LOCAL_REDIS_PORT) if the port is taken.
 */
export function startLocalRedis(options: StartLocalRedisOptions): Promise<RedisProcess>;
