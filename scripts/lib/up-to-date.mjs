// Whether `npm start` (and `npm test`) may skip `pnpm install` and the build:
// each is recorded, after it succeeds, as a hash of what it read (and, for
// the build, of what it wrote); a later run skips it only while the same
// hashes come out. Contents, not modification times: a checkout or a copy
// that keeps old times cannot hide a change. Plain Node: runs before install.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRenamed } from './write-renamed.mjs';

const STATE_DIR = 'node_modules/.cache/foretell-start';
/** What `npm start` runs, built in this order (`pnpm -r` follows the dependencies). */
const STARTED_PACKAGES = ['packages/shared', 'apps/api', 'apps/consumer'];

function filesUnder(root, dir) {
  const path = join(root, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((entry) => {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return filesUnder(root, relative);
      return entry.isFile() ? [relative] : [];
    })
    .sort();
}

/** One hash of the names and contents of `files` (relative to `root`); a missing file counts as such. */
function hashFiles(root, files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    const path = join(root, file);
    hash.update(existsSync(path) ? readFileSync(path) : '\0missing');
    hash.update('\0');
  }
  return hash.digest('hex');
}

function readState(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, STATE_DIR, `${name}.json`), 'utf8'));
  } catch {
    return undefined; // never recorded, or node_modules is new
  }
}

function writeState(root, name, state) {
  writeRenamed(join(root, STATE_DIR, `${name}.json`), JSON.stringify(state));
}

/** The package folders that pnpm-workspace.yaml lists (`dir/*` patterns and plain folders). */
function workspacePackages(root) {
  const lines = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n');
  const start = lines.findIndex((line) => /^packages:/.test(line));
  const packages = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const pattern = /^\s*-\s*['"]?([^'"#\s]+)/.exec(line)?.[1];
    if (pattern === undefined) continue;
    if (!pattern.endsWith('/*')) packages.push(pattern);
    else {
      const parent = pattern.slice(0, -2);
      if (!existsSync(join(root, parent))) continue;
      for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
        if (entry.isDirectory()) packages.push(`${parent}/${entry.name}`);
      }
    }
  }
  return packages.sort();
}

function sameContent(a, b) {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/**
 * Whether the installed dependencies are those of the lockfile and manifests:
 * pnpm's own copy of the lockfile it installed (node_modules/.pnpm/lock.yaml)
 * matches pnpm-lock.yaml, and no manifest changed since the last recorded
 * install. `record()` marks the current manifests as installed.
 */
export function installState(root) {
  const manifests = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc'];
  manifests.push(...workspacePackages(root).map((dir) => `${dir}/package.json`));
  const stamp = hashFiles(root, manifests);
  const isUpToDate =
    readState(root, 'install')?.stamp === stamp &&
    sameContent(join(root, 'pnpm-lock.yaml'), join(root, 'node_modules/.pnpm/lock.yaml'));
  return { isUpToDate, record: () => writeState(root, 'install', { stamp }) };
}

/**
 * One package's build: the inputs it read and the outputs it wrote, as
 * recorded, against the current ones; and, from its manifest, the names of
 * the packages it depends on.
 */
function packageBuildState(root, dir) {
  const manifestFile = `${dir}/package.json`;
  const inputs = hashFiles(root, [
    'tsconfig.base.json',
    'pnpm-lock.yaml',
    'node_modules/typescript/package.json',
    manifestFile,
    `${dir}/tsconfig.build.json`,
    ...filesUnder(root, `${dir}/src`),
    // A package's own build steps after tsc (the shared package bundles TypeBox).
    ...filesUnder(root, `${dir}/scripts`),
  ]);
  const { name, dependencies = {}, devDependencies = {} } = JSON.parse(readFileSync(join(root, manifestFile), 'utf8'));
  const outputs = () => hashFiles(root, filesUnder(root, `${dir}/dist`));
  const stateName = `build-${dir.replaceAll('/', '-')}`;
  const recorded = readState(root, stateName);
  const isUpToDate = recorded?.inputs === inputs && recorded.outputs === outputs();
  return {
    name,
    dependsOn: new Set(Object.keys({ ...dependencies, ...devDependencies })),
    isUpToDate,
    record: () => writeState(root, stateName, { inputs, outputs: outputs() }),
  };
}

/**
 * Which of `packages` (in build order) must be built: those whose own
 * inputs (sources, build scripts, manifest, tsconfig files, the lockfile,
 * the compiler's version) or outputs differ from their recorded build, and those that
 * depend on one of them. Each is recorded apart, so an edit in one app
 * rebuilds that app alone, not all three (tsc's start, most of a build, is
 * paid per package). A dependent is rebuilt with what it depends on: its
 * JavaScript would not change (isolated modules), but its types are checked
 * against the new ones. Compute it before building: `record()` then stores
 * the inputs as they were when the build began, so a source edited during
 * the build makes the next run build again.
 */
function packagesBuildState(root, packages) {
  const states = packages.map((dir) => ({ dir, ...packageBuildState(root, dir) }));
  const stale = [];
  for (const state of states) {
    if (!state.isUpToDate || stale.some(({ name }) => state.dependsOn.has(name))) stale.push(state);
  }
  return {
    isUpToDate: stale.length === 0,
    stale: stale.map(({ dir }) => dir),
    record: () => {
      for (const state of states) state.record();
    },
  };
}

/** Whether the `dist` of STARTED_PACKAGES (what `npm start` runs) is the build of their current sources. */
export function buildState(root) {
  return packagesBuildState(root, STARTED_PACKAGES);
}

/**
 * The same for the bench, recorded apart: `npm start` neither builds nor
 * needs it, and `npm test` skips its build of everything only when both are
 * up to date.
 */
export function benchBuildState(root) {
  return packagesBuildState(root, ['bench']);
}
