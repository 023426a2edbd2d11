import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The repository's root (this file is bench/src/settings.ts, built to bench/dist/settings.js). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = `${ROOT}bench/results`;

export interface BenchSettings {
  readonly runs: number;
  /** Whole seconds of each measured load run. */
  readonly durationS: number;
  /**
   * In smoke mode, the requests each load run sends instead of lasting
   * `durationS`: a second at full speed is thousands of requests, and a smoke
   * run only checks that every scenario reports. Undefined: runs are timed.
   */
  readonly requestsPerRun?: number;
  /** Whole seconds of the load run before each measured one (JIT, connection pools); 0 for none. */
  readonly warmupS: number;
  readonly connections: number;
  readonly smoke: boolean;
  /** Scenario names to run; empty: all. */
  readonly only: readonly string[];
  /** Redis with AOF (appendfsync everysec) instead of no persistence. */
  readonly aof: boolean;
  /** Write V8 CPU profiles of the api and consumer processes. */
  readonly profile: boolean;
  /** Exit 1 when a target is missed (by default only a scenario that fails to report does); in smoke mode, one judged there. */
  readonly check: boolean;
  /** Where the JSON goes; a Markdown table is written next to it. */
  readonly out: string;
  /** Jobs in the backlog the consumer (and the raw loop) drain. */
  readonly backlogJobs: number;
  /** Jobs submitted in the slow-model scenario. */
  readonly slowJobs: number;
  readonly slowLatencyMs: { readonly min: number; readonly max: number };
  /** Jobs run to completion before the GET and memory scenarios measure. */
  readonly finishedJobs: number;
  /** Job hashes whose MEMORY USAGE is read. */
  readonly memorySamples: number;
}

/** A smoke run's requests per load run (unless --duration is given): enough for a latency and a rate. */
const SMOKE_REQUESTS = 200;

export const USAGE = `Usage: pnpm bench [options]   (or node bench/dist/run.js [options])

  --runs N          runs of every scenario; figures are medians (default 3; smoke 1)
  --duration S      whole seconds of each measured load run (default 10; smoke: 200 requests)
  --connections N   autocannon connections (default 50)
  --only a,b        run only these scenarios: sync, async, get, memory, backlog, slow-model,
                    long-poll, workers, batching, sentiment
  --smoke           a few seconds per scenario, tiny backlogs: checks that every scenario reports;
                    targets that need the full load are shown as "not measured (smoke)"
  --aof             Redis with appendonly yes, appendfsync everysec (default: no persistence)
  --profile         write V8 CPU profiles of the api and consumer to bench/results/profiles
  --check           exit 1 when a target is missed (with --smoke: one it can judge)
  --out FILE        the JSON report (default bench/results/latest.json; smoke: smoke.json)
  --backlog N       jobs in the drained backlog (default 200000; smoke 3000)
  --help`;

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer (got "${raw}")`);
  return value;
}

/** Parses the command line; undefined for --help. Throws on a bad or unknown flag. */
export function parseSettings(argv: readonly string[], scenarioNames: readonly string[]): BenchSettings | undefined {
  // `pnpm bench -- --runs 1` passes the `--` on: it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      aof: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      out: { type: 'string' },
      backlog: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const smoke = values.smoke;
  const only = (values.only ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only.filter((name) => !scenarioNames.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}: choose among ${scenarioNames.join(', ')}`);
  }
  return {
    runs: positiveInteger('runs', values.runs, smoke ? 1 : 3),
    // Whole seconds: autocannon reports (and counts) in one-second ticks.
    durationS: positiveInteger('duration', values.duration, smoke ? 1 : 10),
    ...(smoke && values.duration === undefined && { requestsPerRun: SMOKE_REQUESTS }),
    // Long enough for V8 to optimise the hot paths at full load; none in smoke mode.
    warmupS: smoke ? 0 : 3,
    connections: positiveInteger('connections', values.connections, 50),
    smoke,
    only,
    aof: values.aof,
    profile: values.profile,
    check: values.check,
    out: values.out ?? `${RESULTS_DIR}/${smoke ? 'smoke' : 'latest'}.json`,
    backlogJobs: positiveInteger('backlog', values.backlog, smoke ? 3000 : 200_000),
    slowJobs: smoke ? 300 : 20_000,
    // Smoke scales the model down tenfold: it checks the scenario runs, not the figure.
    slowLatencyMs: smoke ? { min: 100, max: 170 } : { min: 1000, max: 1700 },
    finishedJobs: smoke ? 200 : 1000,
    memorySamples: smoke ? 50 : 200,
  };
}
