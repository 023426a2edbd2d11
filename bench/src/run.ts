// `pnpm bench`: starts its own redis-server, then for each run measures the
// baselines and every scenario (each starting the built api/consumer on free
// ports), prints the table of medians and writes it as JSON and Markdown.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { createRunBaselines } from './baselines/baselines.js';
import { killAll, missingEntries } from './processes.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { markdownTable, textTable, type ReportHeader } from './report.js';
import { SCENARIOS } from './scenarios/index.js';
import { parseSettings, USAGE, type BenchSettings } from './settings.js';
import { summarise, type Figure } from './stats.js';

interface Failure {
  readonly scenario: string;
  readonly run: number;
  readonly error: string;
}

const log = (message: string) => process.stderr.write(`▸ ${message}\n`);

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

let redis: RedisServer | undefined;

// Ctrl-C: leave no process behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    void (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** Every scenario must report finite figures in every run, or it counts as failed. */
function missingFigures(
  settings: BenchSettings,
  names: readonly string[],
  figures: readonly (Figure & { run: number })[],
) {
  const missing: Failure[] = [];
  for (let run = 1; run <= settings.runs; run += 1) {
    for (const name of names) {
      const own = figures.filter((figure) => figure.run === run && figure.id.startsWith(`${name}.`));
      const bad = own.filter((figure) => !Number.isFinite(figure.value) || !Number.isFinite(figure.baseline));
      if (own.length === 0) missing.push({ scenario: name, run, error: 'reported no figure' });
      else if (bad.length > 0) {
        missing.push({ scenario: name, run, error: `no number for ${bad.map((figure) => figure.id).join(', ')}` });
      }
    }
  }
  return missing;
}

async function main(): Promise<number> {
  const names = SCENARIOS.map((scenario) => scenario.name);
  let settings: BenchSettings | undefined;
  try {
    settings = parseSettings(process.argv.slice(2), names);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (!settings) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const missing = missingEntries();
  if (missing.length > 0) {
    process.stderr.write(`missing ${missing.join(', ')}: build first (pnpm run build)\n`);
    return 1;
  }
  const scenarios = settings.only.length > 0 ? SCENARIOS.filter((s) => settings.only.includes(s.name)) : SCENARIOS;

  const startedAt = new Date();
  redis = await startRedis({ aof: settings.aof });
  const redisDescription = `Redis ${redis.version} (${redis.persistence})`;
  log(`redis-server at ${redis.url}: ${redisDescription}`);
  const figures: (Figure & { run: number })[] = [];
  const failures: Failure[] = [];
  try {
    for (let run = 1; run <= settings.runs; run += 1) {
      const runLog = (message: string) => log(`run ${run}/${settings.runs} · ${message}`);
      const baselines = createRunBaselines({ settings, redis, run, log: runLog });
      for (const scenario of scenarios) {
        await redis.client.flushall();
        const began = Date.now();
        try {
          const measured = await scenario.run({
            settings,
            redis,
            run,
            baselines,
            log: runLog,
          });
          figures.push(...measured.map((figure) => ({ ...figure, run })));
          runLog(`${scenario.name} done in ${((Date.now() - began) / 1000).toFixed(1)} s`);
        } catch (error) {
          failures.push({ scenario: scenario.name, run, error: messageOf(error) });
          runLog(`✖ ${scenario.name} failed: ${messageOf(error)}`);
        }
      }
    }
  } finally {
    await redis.stop();
    redis = undefined;
  }
  // A failed scenario is reported once, by its error; other gaps by what is missing.
  const failed = new Set(failures.map((failure) => `${failure.scenario}#${failure.run}`));
  failures.push(
    ...missingFigures(
      settings,
      scenarios.map((scenario) => scenario.name),
      figures,
    ).filter((gap) => !failed.has(`${gap.scenario}#${gap.run}`)),
  );

  const summaries = summarise(figures, { smoke: settings.smoke });
  const cpu = cpus();
  const header: ReportHeader = {
    date: startedAt.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 1e9)} GB`,
    node: `Node ${process.version}`,
    redis: redisDescription,
    load:
      `autocannon over loopback, ${settings.connections} connections, ${settings.warmupS} s warm-up + ` +
      `${settings.requestsPerRun === undefined ? `${settings.durationS} s` : `${settings.requestsPerRun} requests`} per run, median of ${settings.runs} run${settings.runs === 1 ? '' : 's'}` +
      (settings.smoke ? ' (smoke mode: figures not meaningful)' : ''),
  };
  return report(settings, header, summaries, figures, failures, startedAt);
}

function report(
  settings: BenchSettings,
  header: ReportHeader,
  summaries: ReturnType<typeof summarise>,
  figures: readonly (Figure & { run: number })[],
  failures: readonly Failure[],
  startedAt: Date,
): number {
  const notes = [
    'Each ratio is the median of the per-run ratios, each figure against the baseline measured in the same run; ' +
      'value and baseline columns are medians of the absolute figures.',
    'Baselines: "bare route" is a Fastify POST route answering small JSON (no schema, no logger, no Redis), ' +
      'loaded in alternating 2-second rounds with the API (ABBA order); "raw consumer loop" is XREADGROUP COUNT 500, ' +
      'then HSET + XACK per entry in one pipeline, no foretell code.',
    'CPU per request or job: user + system time of the process (/proc/<pid>/stat) over the responses or jobs; ' +
      'RSS: VmRSS of /proc/<pid>/status; MB = 10^6 bytes.',
    ...summaries.flatMap((summary) => summary.notes),
  ];
  process.stdout.write(`\n${textTable(summaries)}\n\n`);
  process.stdout.write(`${header.machine}; ${header.node}; ${header.redis}; ${header.load}\n`);
  for (const failure of failures) {
    process.stdout.write(`✖ ${failure.scenario} (run ${failure.run}): ${failure.error.split('\n')[0]}\n`);
  }
  mkdirSync(dirname(settings.out), { recursive: true });
  // No arrays of plain values: JSON.stringify's layout is then the one Prettier keeps.
  const joinNotes = <T extends { notes?: readonly string[] }>({ notes, ...rest }: T) => ({
    ...rest,
    notes: (notes ?? []).join(' '),
  });
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    header,
    settings: { ...settings, only: settings.only.join(',') },
    summaries: summaries.map(joinNotes),
    figures: figures.map(joinNotes),
    failures,
  };
  writeFileSync(settings.out, `${JSON.stringify(json, null, 2)}\n`);
  const markdownPath = settings.out.replace(/\.json$/, '') + '.md';
  writeFileSync(markdownPath, markdownTable(summaries, header, notes));
  process.stdout.write(`written: ${settings.out}, ${markdownPath}\n`);
  if (failures.length > 0) return 1;
  if (settings.check && summaries.some((summary) => summary.verdict === 'fail')) return 1;
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killAll();
    process.stderr.write(`✖ ${messageOf(error)}\n`);
    process.exitCode = 1;
  },
);
