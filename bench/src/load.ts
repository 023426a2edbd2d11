import autocannon from 'autocannon';
import { cpuSeconds } from './processes.js';
import type { BenchSettings } from './settings.js';
import { median } from './stats.js';

/** The input every scenario sends: 32 ASCII bytes, a small JSON body (`{"input":"…"}`, 44 bytes). */
export const INPUT = 'bench input 0123456789abcdefghij';
export const PREDICT_BODY = JSON.stringify({ input: INPUT });
export const JSON_HEADERS = { 'content-type': 'application/json' } as const;
export const ASYNC_HEADERS = { ...JSON_HEADERS, 'async-mode': 'true' } as const;

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Seconds; or `amount` requests in all. */
  readonly durationS?: number;
  readonly amount?: number;
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The status every response should have; others count as unexpected. */
  readonly expectStatus: number;
  /** Per connection: the path it requests (e.g. a different job id each). */
  readonly pathForConnection?: (index: number) => string;
  readonly onResponse?: (status: number, headers: Record<string, string | string[]>) => void;
  /** The server's process: its CPU time during the run is reported (`cpuPerRequestUs`). */
  readonly serverPid?: number;
}

export interface LoadResult {
  /** Responses with the expected status per second. */
  readonly rps: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly expected: number;
  /** Responses with another status, plus connection errors and timeouts. */
  readonly unexpected: number;
  readonly durationS: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** CPU seconds the server process used during the run (NaN without `serverPid`). */
  readonly serverCpuS: number;
  /** Microseconds of the server's CPU per expected response. */
  readonly cpuPerRequestUs: number;
}

/**
 * A timed run that got no answer at all, and no error either, is run once
 * more, this many times as long: autocannon drops the requests still in
 * flight when the time is up, and a run of a second (the smoke test's) on a
 * machine busy with other work can end before the first answer. A server
 * that does not answer in the longer run either is reported as failing.
 */
const SILENT_RUN_STRETCH = 5;

/** One autocannon run over loopback; rejects if more than 1% of the answers were not the expected status. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  try {
    return await runLoadOnce(spec);
  } catch (error) {
    if (!(error instanceof SilentRunError) || spec.amount !== undefined) throw error;
    return runLoadOnce({ ...spec, durationS: (spec.durationS ?? 10) * SILENT_RUN_STRETCH });
  }
}

class SilentRunError extends Error {}

async function runLoadOnce(spec: LoadSpec): Promise<LoadResult> {
  const request: autocannon.Request = {
    method: spec.method ?? 'GET',
    path: spec.path,
    headers: { ...spec.headers },
    ...(spec.body === undefined ? {} : { body: spec.body }),
  };
  const onResponse = spec.onResponse;
  if (onResponse) request.onResponse = (status, _body, _context, headers) => onResponse(status, headers);
  let connection = 0;
  const pathForConnection = spec.pathForConnection;
  const cpuBefore = cpuSeconds(spec.serverPid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        ...(spec.amount === undefined ? { duration: spec.durationS ?? 10 } : { amount: spec.amount }),
        timeout: 30,
        requests: [request],
        ...(pathForConnection && {
          setupClient: (client: autocannon.Client) => {
            client.setRequest({ ...request, path: pathForConnection(connection) });
            connection += 1;
          },
        }),
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
  });
  const serverCpuS = cpuSeconds(spec.serverPid) - cpuBefore;
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]),
  );
  const expected = statuses[String(spec.expectStatus)] ?? 0;
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  const unexpected = answered - expected + result.errors + result.timeouts;
  if (expected === 0 || unexpected > 0.01 * (expected + unexpected)) {
    const silent = answered === 0 && result.errors === 0 && result.timeouts === 0;
    throw new (silent ? SilentRunError : Error)(
      `${spec.method ?? 'GET'} ${spec.path}: expected ${spec.expectStatus}, got ${JSON.stringify(statuses)}, ` +
        `${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return {
    rps: expected / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    expected,
    unexpected,
    durationS: result.duration,
    statuses,
    serverCpuS,
    cpuPerRequestUs: (serverCpuS * 1e6) / expected,
  };
}

/** Load runs of one target taken as one: counts summed, the median round's p50 and p99. */
function combine(rounds: readonly LoadResult[]): LoadResult {
  const sum = (pick: (round: LoadResult) => number) => rounds.reduce((total, round) => total + pick(round), 0);
  const statuses: Record<string, number> = {};
  for (const round of rounds) {
    for (const [status, count] of Object.entries(round.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const durationS = sum((round) => round.durationS);
  const expected = sum((round) => round.expected);
  const serverCpuS = sum((round) => round.serverCpuS);
  return {
    rps: expected / durationS,
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    expected,
    unexpected: sum((round) => round.unexpected),
    durationS,
    statuses,
    serverCpuS,
    cpuPerRequestUs: (serverCpuS * 1e6) / expected,
  };
}

export interface PairedResult {
  readonly baseline: LoadResult;
  readonly subject: LoadResult;
  /** Responses of the subject with the expected status, its warm-up included. */
  readonly subjectExpectedInAll: number;
}

export interface PairedTiming {
  /** Whole seconds of measured load for each of the two. */
  readonly durationS: number;
  /** Whole seconds of unmeasured load each gets first; 0 for none. */
  readonly warmupS: number;
  /** Instead of `durationS` (a smoke run's): one round of this many requests each, no warm-up. */
  readonly requests?: number;
}

/** The timing of the bench's settings. */
export function timingOf(settings: BenchSettings): PairedTiming {
  return {
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    ...(settings.requestsPerRun !== undefined && { requests: settings.requestsPerRun }),
  };
}

/** How long one load run of `timing` lasts: `requests` requests if it has them, else `durationS` seconds. */
export function runLength({
  durationS,
  requests,
}: Pick<PairedTiming, 'durationS' | 'requests'>): Pick<LoadSpec, 'durationS' | 'amount'> {
  return requests === undefined ? { durationS } : { amount: requests };
}

// Two-second rounds: short enough to share the machine's drifting load, long
// enough for autocannon's one-second ticks.
const ROUND_S = 2;

/**
 * Measures a subject against its baseline in alternating rounds (ABBA order:
 * baseline first, then subject first, and so on), so the background load of
 * a shared machine, which drifts by the minute, weighs on both alike.
 */
export async function measurePaired(
  baseline: LoadSpec,
  subject: LoadSpec,
  { durationS, warmupS, requests }: PairedTiming,
): Promise<PairedResult> {
  if (requests !== undefined) {
    const baselineResult = await runLoad({ ...baseline, amount: requests });
    const subjectResult = await runLoad({ ...subject, amount: requests });
    return { baseline: baselineResult, subject: subjectResult, subjectExpectedInAll: subjectResult.expected };
  }
  let subjectExpectedInAll = 0;
  if (warmupS > 0) {
    await runLoad({ ...baseline, durationS: warmupS });
    subjectExpectedInAll += (await runLoad({ ...subject, durationS: warmupS })).expected;
  }
  const rounds = Math.max(1, Math.floor(durationS / ROUND_S));
  const roundS = Math.max(1, Math.round(durationS / rounds));
  const baselineRounds: LoadResult[] = [];
  const subjectRounds: LoadResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? (['baseline', 'subject'] as const) : (['subject', 'baseline'] as const);
    for (const which of order) {
      if (which === 'baseline') baselineRounds.push(await runLoad({ ...baseline, durationS: roundS }));
      else subjectRounds.push(await runLoad({ ...subject, durationS: roundS }));
    }
  }
  const subjectResult = combine(subjectRounds);
  subjectExpectedInAll += subjectResult.expected;
  return { baseline: combine(baselineRounds), subject: subjectResult, subjectExpectedInAll };
}
