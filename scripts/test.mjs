// `npm test`: every check, from a clean clone. Installs what is missing
// (dependencies; redis-server and Chromium via apt-get when root), builds
// (the end-to-end tests run the built processes), then runs vitest while
// type-checking, linting and format-checking beside it: the tests spend
// much of their time waiting on processes and Redis, which leaves a core
// for the checks. Every part must pass.
//
// No build when `dist` is already the recorded build of the sources; after
// an edit, only the package that changed and those that depend on it.
// `npm test -- <vitest arguments>` (a file, a folder, `-t name`) runs only
// those tests: no type-check or lint.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildWhatChanged,
  CHROMIUM,
  ensureSystemCommand,
  installDependencies,
  log,
  REDIS_SERVER,
  run,
  runMain,
  warnIfUnsupportedNode,
} from './lib/run.mjs';
import { benchBuildState, buildState } from './lib/up-to-date.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const BIN = `${ROOT}node_modules/.bin`;
const SCRIPTS = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts;

/** `env` with the workspace's commands first on PATH, as `pnpm run` and `pnpm exec` give them. */
function withWorkspaceBin(env) {
  return { ...env, PATH: `${BIN}${delimiter}${env.PATH ?? ''}` };
}

/**
 * Runs a workspace script with its output held back, so that it does not
 * interleave with vitest's: resolves with its exit code and output. Its
 * command line from package.json runs in sh, as `pnpm run` would run it,
 * without pnpm's own start: 0.6 s of CPU for each script, and for vitest.
 */
function quietly(script) {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', SCRIPTS[script]], {
      cwd: ROOT,
      env: withWorkspaceBin({ ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => resolve({ script, code: 1, output: `${output}${error.message}\n` }));
    child.once('close', (code, signal) => resolve({ script, code: code ?? signal, output }));
  });
}

runMain(async () => {
  const vitestArgs = process.argv.slice(2);
  const filtered = vitestArgs.length > 0;
  warnIfUnsupportedNode();
  await installDependencies();
  await ensureSystemCommand(REDIS_SERVER);
  const chromium = process.env.CHROMIUM_PATH || (await ensureSystemCommand(CHROMIUM));

  // The bench's build is recorded apart: a filtered run that names none of its files does not need it.
  // What changed is built, as `npm start` builds it, and recorded: the test setup checks the record.
  const needsBench = !filtered || vitestArgs.some((arg) => arg.includes('bench'));
  await buildWhatChanged(needsBench ? [buildState(ROOT), benchBuildState(ROOT)] : [buildState(ROOT)]);

  const vitest = run(`${BIN}/vitest`, ['run', ...vitestArgs], {
    env: withWorkspaceBin({ ...process.env, CHROMIUM_PATH: chromium }),
  });
  if (filtered) {
    log('running the tests named; npm test without arguments also type-checks and lints');
    await vitest;
    return;
  }
  log('running the tests, type-checking and linting beside them');
  // check: the type-check and ESLint on one TypeScript program (scripts/check.mjs).
  const checks = Promise.all([quietly('check'), quietly('format:check')]);
  const [tests, results] = await Promise.all([
    vitest.then(
      () => undefined,
      (error) => error,
    ),
    checks,
  ]);
  for (const { script, code, output } of results) {
    if (code === 0) log(`${script}: passed`);
    else process.stdout.write(`${output}\n`);
  }
  const failed = results.filter(({ code }) => code !== 0).map(({ script }) => script);
  if (tests) failed.unshift('vitest');
  if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
});
