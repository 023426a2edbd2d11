import { parseArgs } from 'node:util';

export interface SoakOptions {
  readonly jobs: number;
  readonly consumers: number;
  /** For submitting and finishing, after start-up. */
  readonly durationLimitMs: number;
  readonly submitConcurrency: number;
  readonly consumerConcurrency: number;
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly claimIdleMs: number;
  readonly retryBaseMs: number;
  readonly maxAttempts: number;
  readonly graceMs: number;
  readonly maxQueue: number;
  /** Milliseconds between two kills: [min, max]. */
  readonly killEveryMs: readonly [number, number];
  /** Share of kills that are SIGTERM rather than SIGKILL. */
  readonly sigtermShare: number;
}

export const SOAK_USAGE = `usage: npm run soak -- [options]   (or node bench/dist/soak.js [options])
  --jobs N                 jobs to submit (2000)
  --consumers N            consumers kept running (3)
  --duration-limit S       seconds allowed for submitting and finishing, after start-up (300)
  --submit-concurrency N   POSTs in flight (50)
  --consumer-concurrency N CONSUMER_CONCURRENCY of each consumer (20)
  --min-latency MS         mock model latency, lower bound (200)
  --max-latency MS         mock model latency, upper bound (800)
  --claim-idle-ms MS       CLAIM_IDLE_MS (2000)
  --retry-base-ms MS       RETRY_BASE_DELAY_MS (100)
  --max-attempts N         MAX_ATTEMPTS (3)
  --grace-ms MS            SHUTDOWN_GRACE_MS of the consumers (500: a SIGTERM may leave jobs pending)
  --max-queue N            MAX_QUEUE_LENGTH of the API (500: submissions meet 503 and retry)
  --kill-every MIN-MAX     seconds between two kills (0.5-3)
  --sigterm-share F        share of kills that are SIGTERM rather than SIGKILL (0.2)`;

/** A bad command line: the runner prints it and exits 2. */
export class UsageError extends Error {}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      // `pnpm run soak -- --jobs 1` passes the `--` on: it separates nothing here.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        jobs: { type: 'string', default: '2000' },
        consumers: { type: 'string', default: '3' },
        'duration-limit': { type: 'string', default: '300' },
        'submit-concurrency': { type: 'string', default: '50' },
        'consumer-concurrency': { type: 'string', default: '20' },
        'min-latency': { type: 'string', default: '200' },
        'max-latency': { type: 'string', default: '800' },
        'claim-idle-ms': { type: 'string', default: '2000' },
        'retry-base-ms': { type: 'string', default: '100' },
        'max-attempts': { type: 'string', default: '3' },
        'grace-ms': { type: 'string', default: '500' },
        'max-queue': { type: 'string', default: '500' },
        'kill-every': { type: 'string', default: '0.5-3' },
        'sigterm-share': { type: 'string', default: '0.2' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Parses the command line; undefined for --help. Throws a UsageError on a bad value. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions | undefined {
  const values = parse(argv);
  if (values.help) return undefined;
  const int = (name: Exclude<keyof typeof values, 'help'>, min: number) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) {
      throw new UsageError(`--${name} must be an integer ≥ ${min} (got ${values[name]})`);
    }
    return value;
  };
  const [killMin = Number.NaN, killMax = Number.NaN] = values['kill-every'].split('-').map(Number);
  if (!(killMin > 0 && killMax >= killMin)) {
    throw new UsageError(`--kill-every must be MIN-MAX seconds (got ${values['kill-every']})`);
  }
  const sigtermShare = Number(values['sigterm-share']);
  if (!(sigtermShare >= 0 && sigtermShare <= 1)) throw new UsageError('--sigterm-share must be between 0 and 1');
  const options: SoakOptions = {
    jobs: int('jobs', 1),
    consumers: int('consumers', 1),
    durationLimitMs: int('duration-limit', 1) * 1000,
    submitConcurrency: int('submit-concurrency', 1),
    consumerConcurrency: int('consumer-concurrency', 1),
    minLatencyMs: int('min-latency', 0),
    maxLatencyMs: int('max-latency', 0),
    claimIdleMs: int('claim-idle-ms', 100),
    retryBaseMs: int('retry-base-ms', 0),
    maxAttempts: int('max-attempts', 1),
    graceMs: int('grace-ms', 0),
    maxQueue: int('max-queue', 0),
    killEveryMs: [killMin * 1000, killMax * 1000],
    sigtermShare,
  };
  if (options.maxLatencyMs < options.minLatencyMs) throw new UsageError('--max-latency must be ≥ --min-latency');
  return options;
}
