// `npm run soak`: proves that no accepted job is lost or stored twice while
// consumers crash. Starts its own redis-server (AOF, temp dir), one API and N
// consumers from the built dist, submits jobs through the HTTP API, kills
// random consumers (mostly SIGKILL, sometimes SIGTERM) and replaces them, then
// checks every accepted job's hash and how often its id was announced on
// `{prefix}:done` (finish-jobs publishes only when it writes the outcome, so two
// announcements mean two writes). Exits 0 iff lost = 0 and duplicated = 0.
// Not part of `npm test`: it takes tens of seconds and is random by design.
//
//   npm run build && npm run soak -- --jobs 2000 --consumers 3 --duration-limit 300
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalRedis } from './lib/local-redis.mjs';
import { ensureSystemCommand, log, REDIS_SERVER, runMain } from './lib/run.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API_ENTRY = 'apps/api/dist/server.js';
const CONSUMER_ENTRY = 'apps/consumer/dist/main.js';
const RECLAIM_LOG = 'reclaimed entries of a consumer that stopped';
// Consumers dying without being killed, beyond which the run stops (a crash loop).
const MAX_UNEXPECTED_EXITS = 20;
const isErrorLine = (line) => /Error|"level":(50|60)/.test(line);

const HELP = `usage: npm run soak -- [options]
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

function readOptions() {
  const { values } = parseArgs({
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
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    process.exit(0);
  }
  const int = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer ≥ ${min} (got ${values[name]})`);
    return value;
  };
  const [killMin, killMax] = values['kill-every'].split('-').map(Number);
  if (!(killMin > 0 && killMax >= killMin)) fail(`--kill-every must be MIN-MAX seconds (got ${values['kill-every']})`);
  const sigtermShare = Number(values['sigterm-share']);
  if (!(sigtermShare >= 0 && sigtermShare <= 1)) fail('--sigterm-share must be between 0 and 1');
  const options = {
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
  if (options.maxLatencyMs < options.minLatencyMs) fail('--max-latency must be ≥ --min-latency');
  return options;
}

function fail(message) {
  throw Object.assign(new Error(message), { exitCode: 2 });
}

const between = (min, max) => min + Math.random() * (max - min);

/** A port nobody listens on right now: the kernel picks it for us. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Every process this run started, so that every way out (normal end, failure,
 * Ctrl-C, an uncaught error) stops all of them.
 */
class Processes {
  all = new Set();
  /** Set once cleaning up: from then on nothing new is started. */
  closing = false;
  /** Counts of the consumers' warn/error log messages, to show what happened. */
  warnings = new Map();
  reclaimed = 0;

  /** Tracks a child: its exit, and its last lines for the report on failure. */
  track(name, child) {
    const entry = { name, child, lines: [], exited: undefined, signalSent: undefined };
    entry.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    this.all.add(entry);
    void entry.exited.then(() => this.all.delete(entry));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.#onLine(entry, line));
    }
    return entry;
  }

  startNode(name, script, env) {
    // Own process group: Ctrl-C in the terminal reaches only this runner, which
    // then stops every child itself, in order (apps before Redis).
    const child = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return this.track(name, child);
  }

  #onLine(entry, line) {
    entry.lines.push(line);
    if (entry.lines.length > 20) entry.lines.shift();
    if (!line.startsWith('{')) return;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      return;
    }
    // LOG_LEVEL=warn keeps the consumers quiet but for these, reclaims included.
    if (record.msg === RECLAIM_LOG) this.reclaimed += Number(record.count) || 0;
    if (typeof record.msg === 'string') this.warnings.set(record.msg, (this.warnings.get(record.msg) ?? 0) + 1);
  }

  /** Signals `entries`, waits up to `ms` for them to go, then SIGKILLs the rest. */
  async stop(entries, signal, ms) {
    for (const entry of entries) if (isAlive(entry)) entry.child.kill(signal);
    const gone = Promise.all(entries.map((entry) => entry.exited));
    const timer = sleep(ms, 'timeout');
    if ((await Promise.race([gone, timer])) === 'timeout') {
      for (const entry of entries) if (isAlive(entry)) entry.child.kill('SIGKILL');
      await gone;
    }
  }

  /** Last resort on process exit: cannot wait, so SIGKILL whatever is left. */
  killAllNow() {
    for (const entry of this.all) if (isAlive(entry)) entry.child.kill('SIGKILL');
  }
}

const isAlive = (entry) => entry.child.exitCode === null && entry.child.signalCode === null;

runMain(async () => {
  const options = readOptions();
  for (const entry of [API_ENTRY, CONSUMER_ENTRY]) {
    if (!existsSync(join(ROOT, entry))) fail(`${entry} is missing: run \`npm run build\` first`);
  }
  // A root devDependency: imported here so a missing install gets a clear message.
  const { Redis } = await import('ioredis').catch(() => fail('ioredis is missing: run `pnpm install` first'));
  const redisServer = await ensureSystemCommand(REDIS_SERVER);

  const processes = new Processes();
  const tempDir = mkdtempSync(join(tmpdir(), 'foretell-soak-'));
  const clients = [];
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    processes.closing = true;
    for (const client of clients) client.disconnect();
    const apps = [...processes.all].filter((entry) => entry.name !== 'redis');
    await processes.stop(apps, 'SIGTERM', 3000);
    // Redis last: the apps may still write while they drain.
    await processes.stop([...processes.all], 'SIGTERM', 5000);
    rmSync(tempDir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    processes.killAllNow();
    if (!cleaned) rmSync(tempDir, { recursive: true, force: true });
  });
  let interrupted = false;
  const run = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (interrupted) {
        log('second signal: killing everything now');
        process.exit(130); // the 'exit' handler SIGKILLs the children
      }
      interrupted = true;
      log(`${signal}: stopping the soak and everything it started`);
      run.abort(new Error(`interrupted by ${signal}`));
    });
  }

  try {
    const outcome = await soak({ options, Redis, redisServer, processes, tempDir, clients, run });
    await cleanUp();
    if (interrupted) process.exit(130);
    process.exit(outcome.pass ? 0 : 1);
  } catch (error) {
    log(`stopping everything: ${error.message}`);
    await cleanUp();
    if (interrupted) process.exit(130);
    throw error;
  }
});

async function soak({ options, Redis, redisServer, processes, tempDir, clients, run }) {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `soak-${runId}`;
  // The names of packages/shared/src/redis-keys.ts, for this run's prefix.
  const keys = {
    done: `${prefix}:done`,
    jobs: `${prefix}:jobs`,
    group: `${prefix}:workers`,
    dead: `${prefix}:dead`,
    retries: `${prefix}:retries`,
  };
  const jobKey = (id) => `${prefix}:job:${id}`;

  // --- Redis, and our own two connections (one is taken by SUBSCRIBE) ---
  const redisPort = await freePort();
  await startLocalRedis({
    redisServer,
    port: redisPort,
    dir: join(tempDir, 'redis'),
    onLine: (child) => processes.track('redis', child),
  });
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  clients.push(redis, subscriber);
  redis.on('error', () => {}); // errors surface on the commands; no unhandled 'error' event at shutdown
  subscriber.on('error', () => {});

  // Subscribe before the first job exists, so that no announcement is missed.
  const announced = new Map(); // job id -> times published on {prefix}:done
  await subscriber.subscribe(keys.done);
  subscriber.on('message', (_channel, id) => announced.set(id, (announced.get(id) ?? 0) + 1));

  // --- the apps ---
  const common = {
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    MODEL_MIN_LATENCY_MS: String(options.minLatencyMs),
    MODEL_MAX_LATENCY_MS: String(options.maxLatencyMs),
  };
  const apiPort = await freePort();
  const api = processes.startNode('api', API_ENTRY, {
    ...common,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    MAX_QUEUE_LENGTH: String(options.maxQueue),
    SHUTDOWN_GRACE_MS: '2000',
  });
  // The API going away ends the run: nothing could be submitted any more.
  void api.exited.then((how) => {
    const last = api.lines.slice(-5).join(' | ');
    run.abort(new Error(`the API exited (${how})${last ? `: ${last}` : ''}`));
  });

  let consumerNumber = 0;
  const consumers = new Set(); // running and not signalled by us
  let unexpectedExits = 0;
  const stopChaos = new AbortController();
  const startConsumer = () => {
    if (processes.closing) return;
    consumerNumber += 1;
    const entry = processes.startNode(`consumer-${consumerNumber}`, CONSUMER_ENTRY, {
      ...common,
      CONSUMER_NAME: `${prefix}-c${consumerNumber}`,
      CONSUMER_CONCURRENCY: String(options.consumerConcurrency),
      CLAIM_IDLE_MS: String(options.claimIdleMs),
      RETRY_BASE_DELAY_MS: String(options.retryBaseMs),
      RETRY_MAX_DELAY_MS: String(Math.max(options.retryBaseMs * 8, 1000)),
      MAX_ATTEMPTS: String(options.maxAttempts),
      SHUTDOWN_GRACE_MS: String(options.graceMs),
      CONSUMER_BLOCK_MS: '1000',
    });
    consumers.add(entry);
    void entry.exited.then((how) => {
      consumers.delete(entry);
      // A consumer dying by itself is a finding, not part of the plan: report
      // it and keep the fleet at full strength.
      if (entry.signalSent === undefined && !processes.closing && !stopChaos.signal.aborted) {
        unexpectedExits += 1;
        // The first crash in full (it is the finding); later ones in one line.
        const detail = unexpectedExits === 1 ? `\n  ${entry.lines.join('\n  ')}` : entry.lines.find(isErrorLine);
        log(`${entry.name} exited by itself (${how}): ${detail ?? ''}`);
        // A consumer that cannot start would be replaced forever: give up instead.
        if (unexpectedExits > MAX_UNEXPECTED_EXITS) {
          run.abort(new Error(`${unexpectedExits} consumers exited by themselves; see above`));
          return;
        }
        setTimeout(startConsumer, 500);
      }
    });
  };
  for (let i = 0; i < options.consumers; i++) startConsumer();

  await waitForApi(apiPort, run.signal);
  log(`redis on 127.0.0.1:${redisPort}, API on 127.0.0.1:${apiPort}, ${options.consumers} consumers, prefix ${prefix}`);

  // --- the run: submit, kill, wait ---
  const startedAt = Date.now();
  const deadline = startedAt + options.durationLimitMs;
  const stopped = () => run.signal.aborted || Date.now() > deadline;

  const kills = { SIGKILL: 0, SIGTERM: 0 };
  const chaos = (async () => {
    // Bounded by count as well as by the stop signal.
    const maxKills = Math.ceil(options.durationLimitMs / options.killEveryMs[0]) + 1;
    for (let round = 0; round < maxKills; round++) {
      const pause = between(...options.killEveryMs);
      await sleep(pause, undefined, { signal: stopChaos.signal }).catch(() => {});
      if (stopChaos.signal.aborted || stopped()) return;
      const alive = [...consumers];
      if (alive.length === 0) continue;
      const victim = alive[Math.floor(Math.random() * alive.length)];
      const signal = Math.random() < options.sigtermShare ? 'SIGTERM' : 'SIGKILL';
      victim.signalSent = signal;
      consumers.delete(victim);
      victim.child.kill(signal);
      kills[signal] += 1;
      // The replacement starts at once under a new name, so the group is never
      // left without a consumer and the victim's entries must be reclaimed.
      startConsumer();
    }
  })();

  let submission, statuses;
  try {
    submission = await submitAll({ options, apiPort, runId, stopped });
    if (run.signal.aborted) throw run.signal.reason;
    log(`submitted ${submission.ids.length} of ${options.jobs} jobs; waiting for them to finish`);
    statuses = await waitUntilFinished({ redis, jobKey, ids: submission.ids, stopped });
    // Let a straggler (a job run twice) reach finish-jobs before announcements are counted.
    await sleep(Math.max(1000, options.maxLatencyMs + 200), undefined, { signal: run.signal }).catch(() => {});
  } finally {
    // Also on failure: no kill or replacement may race the clean-up.
    stopChaos.abort();
    await chaos;
  }
  const elapsedS = Math.round((Date.now() - startedAt) / 100) / 10;
  if (run.signal.aborted) throw run.signal.reason;

  // --- the verdict ---
  const count = (status) => [...statuses.values()].filter((value) => value === status).length;
  const lostIds = submission.ids.filter((id) => statuses.get(id) !== 'succeeded' && statuses.get(id) !== 'failed');
  const duplicatedIds = submission.ids.filter((id) => (announced.get(id) ?? 0) > 1);
  const finishedSilently = submission.ids.filter((id) => statuses.has(id) && !announced.has(id));
  const strangers = [...announced.keys()].filter((id) => !submission.accepted.has(id));
  const totalKills = kills.SIGKILL + kills.SIGTERM;
  const figures = {
    submitted: submission.ids.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    lost: lostIds.length,
    duplicated: duplicatedIds.length,
    kills: totalKills,
    reclaimed: processes.reclaimed,
    elapsed_s: elapsedS,
  };
  const pass = figures.lost === 0 && figures.duplicated === 0;

  await explain({ redis, keys, jobKey, lostIds, duplicatedIds, announced, statuses, processes });
  if (submission.ids.length < options.jobs) {
    log(`warning: only ${submission.ids.length} of ${options.jobs} jobs were accepted within the limit`);
  }
  if (finishedSilently.length > 0) {
    log(`warning: ${finishedSilently.length} finished jobs were never announced (a missed pub/sub message?)`);
  }
  if (strangers.length > 0) log(`warning: ${strangers.length} announced ids were never accepted by us`);
  if (unexpectedExits > 0) log(`warning: ${unexpectedExits} consumers exited without being killed`);

  process.stdout.write(
    `soak ${pass ? 'PASS' : 'FAIL'}: submitted ${figures.submitted}/${options.jobs}, ` +
      `succeeded ${figures.succeeded}, failed ${figures.failed}, lost ${figures.lost}, ` +
      `duplicated ${figures.duplicated}, kills ${totalKills} (${kills.SIGKILL} SIGKILL, ${kills.SIGTERM} SIGTERM), ` +
      `reclaimed ${figures.reclaimed}, 503s retried ${submission.refusals}, elapsed ${elapsedS} s\n`,
  );
  process.stdout.write(JSON.stringify(figures) + '\n');
  return { pass };
}

/** Waits until the API answers /health, bounded in time. */
async function waitForApi(port, signal) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (signal.aborted) throw signal.reason;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('the API did not answer /health within 15 s');
}

/**
 * POSTs the jobs in async mode, `submitConcurrency` at once. A 503 (queue full)
 * waits for Retry-After; a transport error is retried too, which the
 * Idempotency-Key makes safe: a request that did reach Redis returns the same
 * id instead of enqueuing a second job.
 */
async function submitAll({ options, apiPort, runId, stopped }) {
  const url = `http://127.0.0.1:${apiPort}/predict`;
  const ids = [];
  const accepted = new Set();
  let refusals = 0;
  let next = 0;

  const submitOne = async (n) => {
    const body = JSON.stringify({ input: `soak ${runId} #${n}` });
    const headers = {
      'content-type': 'application/json',
      'async-mode': 'true',
      'idempotency-key': `soak-${runId}-${n}`,
    };
    for (let attempt = 0; attempt < 1000 && !stopped(); attempt++) {
      let response;
      try {
        response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      } catch {
        await sleep(500);
        continue;
      }
      const text = await response.text();
      if (response.status === 202) return JSON.parse(text).prediction_id;
      if (response.status === 503) {
        refusals += 1;
        const seconds = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0.1), 10) * 1000 : 1000);
        continue;
      }
      // Anything else is a bug in the API (or in this script): stop here.
      throw new Error(`POST /predict answered ${response.status}: ${text}`);
    }
    return undefined;
  };

  const worker = async () => {
    while (next < options.jobs && !stopped()) {
      const n = next++;
      const id = await submitOne(n);
      if (id === undefined || accepted.has(id)) continue;
      accepted.add(id);
      ids.push(id);
    }
  };
  await Promise.all(Array.from({ length: options.submitConcurrency }, worker));
  return { ids, accepted, refusals };
}

/** Polls the job hashes until every one is succeeded or failed, or time is up. */
async function waitUntilFinished({ redis, jobKey, ids, stopped }) {
  const statuses = new Map(); // id -> final status
  let waiting = ids;
  // At most one check per 500 ms, so the count bound follows from the time bound.
  for (let round = 0; round < 100_000 && waiting.length > 0; round++) {
    for (let i = 0; i < waiting.length; i += 500) {
      const chunk = waiting.slice(i, i + 500);
      const pipeline = redis.pipeline();
      for (const id of chunk) pipeline.hget(jobKey(id), 'status');
      const replies = await pipeline.exec();
      chunk.forEach((id, index) => {
        const status = replies[index][1];
        if (status === 'succeeded' || status === 'failed') statuses.set(id, status);
      });
    }
    waiting = waiting.filter((id) => !statuses.has(id));
    if (waiting.length === 0 || stopped()) break;
    await sleep(500);
  }
  return statuses;
}

/** Prints why jobs failed, and the evidence for any lost or duplicated one. */
async function explain({ redis, keys, jobKey, lostIds, duplicatedIds, announced, statuses, processes }) {
  const failed = [...statuses].filter(([, status]) => status === 'failed').map(([id]) => id);
  if (failed.length > 0) {
    const reasons = new Map();
    for (const id of failed) {
      const reason = (await redis.hget(jobKey(id), 'reason')) ?? '(none)';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    for (const [reason, n] of reasons) log(`failed ×${n}: ${reason}`);
  }
  if (processes.warnings.size > 0) {
    const summary = [...processes.warnings].map(([msg, n]) => `${msg} ×${n}`).join('; ');
    log(`consumer/api warnings: ${summary}`);
  }
  if (lostIds.length === 0 && duplicatedIds.length === 0) return;

  const show = (label, value) => process.stdout.write(`  ${label}: ${JSON.stringify(value)}\n`);
  for (const id of lostIds.slice(0, 10)) {
    log(`lost ${id}`);
    show('hash', await redis.hgetall(jobKey(id)));
    show('ttl', await redis.ttl(jobKey(id)));
    show('retry due', await redis.zscore(keys.retries, id));
  }
  for (const id of duplicatedIds.slice(0, 10)) {
    log(`duplicated ${id}: announced ${announced.get(id)} times`);
    show('hash', await redis.hgetall(jobKey(id)));
  }
  show('XPENDING summary', await redis.xpending(keys.jobs, keys.group).catch((error) => error.message));
  show('XPENDING first 10', await redis.xpending(keys.jobs, keys.group, '-', '+', 10).catch((e) => e.message));
  show('XLEN jobs', await redis.xlen(keys.jobs));
  show('XLEN dead', await redis.xlen(keys.dead));
  const lost = new Set(lostIds);
  const deadEntries = await redis.xrange(keys.dead, '-', '+', 'COUNT', 10_000);
  const deadLost = deadEntries.filter(([, fields]) => lost.has(fields[fields.indexOf('id') + 1]));
  show('dead entries of lost jobs', deadLost.slice(0, 10));
}
