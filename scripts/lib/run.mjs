// Helpers shared by the start and test commands. Plain Node, no dependencies:
// they run before `pnpm install` has.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unsupportedNodeWarning } from './node-support.mjs';
import { installState } from './up-to-date.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** pnpm, fetched by npx: the machine needs only Node and npm. */
export const PNPM_VERSION = '10.34.8';

/** Whether to colour what goes to `stream`: a terminal, unless NO_COLOR says otherwise (no-color.org). */
export function isColourful(stream) {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

export function log(message) {
  process.stdout.write(isColourful(process.stdout) ? `\u001b[1m▸ ${message}\u001b[0m\n` : `▸ ${message}\n`);
}

/**
 * Runs a command with inherited stdio; rejects with its exit code unless it
 * is 0. An aborted `signal` (spawn's option) stops the command with SIGTERM.
 */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          Object.assign(new Error(`${command} ${args.join(' ')} failed (${signal ?? code})`), { exitCode: code ?? 1 }),
        );
    });
  });
}

/** pnpm: the workspace's own once installed (starts in a fraction of npx's time), else fetched by npx. */
export function pnpm(args, options) {
  const local = `${ROOT}node_modules/.bin/pnpm`;
  if (existsSync(local)) return run(local, args, options);
  return run('npx', ['--yes', `pnpm@${PNPM_VERSION}`, ...args], options);
}

/**
 * Builds the packages of `states` (up-to-date.mjs's build states) whose
 * recorded build is stale, and those that depend on them, in dependency
 * order, then records every one: an edit in one app builds that app alone.
 * `npm start` and `npm test` both build so.
 */
export async function buildWhatChanged(states, options) {
  const stale = states.flatMap((state) => state.stale);
  if (stale.length === 0) {
    log('build up to date (sources unchanged since the last build)');
    return;
  }
  log(`building ${stale.join(', ')}`);
  await pnpm(['-r', ...stale.flatMap((dir) => ['--filter', `./${dir}`]), 'run', 'build'], options);
  for (const state of states) state.record();
}

/**
 * Installs the workspace's dependencies exactly as locked, unless they
 * already are (up-to-date.mjs says how that is known).
 */
export async function installDependencies(options) {
  const state = installState(ROOT);
  if (state.isUpToDate) {
    log('dependencies up to date (pnpm-lock.yaml unchanged since the last install)');
    return;
  }
  log('installing dependencies (pnpm install --frozen-lockfile)');
  // npx's pnpm: the local one may be missing, or the version this install replaces.
  await run('npx', ['--yes', `pnpm@${PNPM_VERSION}`, 'install', '--frozen-lockfile', '--reporter=silent'], options);
  state.record();
}

function which(command) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The path of the first of `commands` on PATH (in their order of preference), or undefined. */
export function findSystemCommand({ commands }) {
  return commands.map(which).find(Boolean);
}

/**
 * The path of a system command, installing its Debian package with apt-get
 * when this runs as root; otherwise fails with one line saying how to get it.
 */
export async function ensureSystemCommand({ commands, aptPackage, hint }) {
  const findIt = () => findSystemCommand({ commands });
  let path = findIt();
  if (path) return path;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    log(`installing ${aptPackage} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', aptPackage], { env });
    path = findIt();
    if (path) return path;
  }
  throw Object.assign(new Error(`${commands[0]} is missing: ${hint}`), { exitCode: 1 });
}

export const REDIS_SERVER = {
  commands: ['redis-server'],
  aptPackage: 'redis-server',
  hint: 'install Redis ≥ 7 (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_URL.',
};

// Chromium's headless shell first: the browser tests drive pages only, and it
// runs them on about a third less CPU than the full browser in headless mode.
// A full Chromium already installed does the job too.
export const CHROMIUM = {
  commands: ['chromium-headless-shell', 'chromium', 'chromium-browser', 'google-chrome'],
  aptPackage: 'chromium-headless-shell',
  hint: 'install Chromium for the browser tests (Debian/Ubuntu: sudo apt-get install chromium-headless-shell, or chromium), or set CHROMIUM_PATH.',
};

/** A warning on stderr, in yellow on a terminal: the run goes on. */
export function warn(message) {
  const line = `! ${message}`;
  process.stderr.write(isColourful(process.stderr) ? `\u001b[33m${line}\u001b[0m\n` : `${line}\n`);
}

/** Warns when the running Node is outside `engines.node` (lib/node-support.mjs says why it is not refused). */
export function warnIfUnsupportedNode() {
  const warning = unsupportedNodeWarning(ROOT);
  if (warning) warn(warning);
}

/** The line a failure prints on stderr: its message, in red on a terminal. */
export function reportFailure(error) {
  const line = `✖ ${error.message}`;
  process.stderr.write(isColourful(process.stderr) ? `\u001b[31m${line}\u001b[0m\n` : `${line}\n`);
}

/** Runs `main`, turning a failure into its message and exit code instead of a stack trace. */
export function runMain(main) {
  main().catch((error) => {
    reportFailure(error);
    process.exit(error.exitCode ?? 1);
  });
}
