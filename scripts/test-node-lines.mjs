// `node scripts/test-node-lines.mjs`: proves the apps on every supported Node
// line (package.json's engines.node) other than the one running it, after
// `npm test` has run on this one (it installs, builds and records both: this
// script only reads them). Each line's first supported release (22.15.0,
// 24.0.0: the floor engines.node promises; GitHub Actions tests each line's
// newest) is fetched through npm's `node` package and runs vitest on:
//
// - every in-process test of the packages and the apps (the API on app.inject
//   and real sockets, the consumer, the shared package's scripts on real Redis,
//   the example model): where Node's own behaviour is used (http, streams,
//   worker threads, AbortSignal, timers);
// - three end-to-end files on the built processes: the API and a consumer
//   together (the queue, end to end), the OpenTelemetry SDK (the dependency
//   that sets the 22.15 floor) and model worker threads (piscina).
//
// The rest is left to the full run on this machine's Node: the documentation,
// deployment-file and script checks read files, the browser tests drive
// Chromium, and the remaining end-to-end files (faults, failover, npm start)
// exercise the processes the same way on every line (SKIPPED below names the
// rest). Timings on this 2-core machine: README, "Tests".
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { supportedNode } from './lib/node-support.mjs';
import { log, runMain } from './lib/run.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = `${ROOT}node_modules/vitest/vitest.mjs`;

/** Folders whose in-process test files run on every line. */
const IN_PROCESS = ['packages/shared/test', 'packages/sentiment-model/test', 'apps/api/test', 'apps/consumer/test'];
/**
 * Left to the full run: the browser tests drive Chromium, not Node; the CLI's
 * usage mistakes are argument checks (31 processes, 40 s); the OpenAPI client
 * test spends its time in tsc and Redocly on a document no Node changes.
 */
const SKIPPED = /\.browser\.test\.ts$|\/cli-mistakes\.test\.ts$|\/openapi-client\.test\.ts$/;
const END_TO_END = [
  'test/e2e/api-and-consumer.test.ts',
  'test/e2e/otel-traces.test.ts',
  'test/e2e/model-workers.test.ts',
];

/** The test files each line runs, relative to the root. */
function nodeLineTests() {
  const inProcess = IN_PROCESS.flatMap((dir) =>
    readdirSync(`${ROOT}${dir}`, { recursive: true })
      .map((file) => `${dir}/${file}`)
      .filter((file) => file.endsWith('.test.ts') && !SKIPPED.test(file)),
  );
  return [...inProcess.sort(), ...END_TO_END];
}

/** Runs `node@version` (npm's `node` package, through npx) with `args`; rejects unless it exits 0. */
function onNode(version, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--yes', `node@${version}`, ...args], { cwd: ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(Object.assign(new Error(`Node ${version}: failed (${signal ?? code})`), { exitCode: 1 })),
    );
  });
}

runMain(async () => {
  const running = Number(process.versions.node.split('.')[0]);
  const lines = supportedNode(ROOT).lines.filter((line) => line.major !== running);
  const failed = [];
  // Every line runs, even after a failure: the report names each line that failed.
  for (const { major, minor, patch } of lines) {
    const version = `${major}.${minor}.${patch}`;
    const started = Date.now();
    log(`Node ${version}: the in-process tests and three end-to-end files`);
    try {
      await onNode(version, ['--version']);
      await onNode(version, [VITEST, 'run', ...nodeLineTests()]);
      log(`Node ${version}: passed in ${Math.round((Date.now() - started) / 1000)} s`);
    } catch (error) {
      log(`Node ${version}: ${error.message}`);
      failed.push(version);
    }
  }
  if (failed.length > 0) throw Object.assign(new Error(`failed on Node ${failed.join(', ')}`), { exitCode: 1 });
});
