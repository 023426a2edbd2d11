// ESLint's results for the type-checked files, kept from one check to the
// next. ESLint's own cache keys a file's results on its contents alone, which
// its typed rules outgrow: a function in another file that starts returning a
// promise makes an unchanged caller's call a floating promise. Here a file's
// key is everything its results were worked out from:
//
// - its path and contents;
// - the contents of every file it depends on, however far (TypeScript's own
//   dependency graph, the one `tsc --incremental` re-checks by);
// - the contents of every file that can change the types of files that do
//   not import it: scripts (the lib files, @types/node's globals) and files
//   that augment a module or the global scope (`declare module`,
//   `declare global`);
// - the compiler options, the ESLint configuration, the installed versions
//   of ESLint, typescript-eslint and TypeScript (the lockfile), and Node's.
//
// A file whose key is the one stored is not linted again; its stored results
// are reported as they were, errors included.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { writeRenamed } from './write-renamed.mjs';

/** Bumped when what is stored, or how a key is made, changes. */
const FORMAT = 1;
/** The tools the results come from: the ESLint configuration, and the lockfile that pins ESLint, its plugins and TypeScript. */
const TOOL_FILES = ['../../eslint.config.js', '../../pnpm-lock.yaml'].map((path) =>
  fileURLToPath(new URL(path, import.meta.url)),
);

const sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
};

function readOrMissing(path) {
  try {
    return readFileSync(path);
  } catch {
    return 'missing';
  }
}

/** Whether `file` can change the types of files that do not import it. */
const reachesOtherFiles = (file) => !ts.isExternalModule(file) || /\bdeclare\s+(?:global|module)\b/.test(file.text);

/**
 * The key of each file of `builder`'s program under `cwd` (outside
 * node_modules), by absolute path. `builder` is the program as
 * `ts.createIncrementalProgram` returns it, which knows each file's
 * dependencies.
 */
export function lintKeys(cwd, builder) {
  const program = builder.getProgram();
  const contents = new Map();
  const contentOf = (fileName) => {
    let hash = contents.get(fileName);
    if (hash === undefined) {
      hash = sha256(program.getSourceFile(fileName)?.text ?? 'missing');
      contents.set(fileName, hash);
    }
    return hash;
  };
  // The configuration file's parsed tree rides along in the options: its path and the options say it all.
  const options = JSON.stringify(program.getCompilerOptions(), (key, value) =>
    key === 'configFile' ? undefined : value,
  );
  const tools = sha256(String(FORMAT), process.version, options, ...TOOL_FILES.map(readOrMissing));
  const global = sha256(
    ...program
      .getSourceFiles()
      .filter(reachesOtherFiles)
      .map((file) => `${file.fileName} ${contentOf(file.fileName)}`)
      .sort(),
  );
  const keys = new Map();
  for (const file of program.getSourceFiles()) {
    const path = relative(cwd, file.fileName);
    if (path.startsWith('..') || isAbsolute(path) || path.split(sep).includes('node_modules')) continue;
    const dependencies = [...builder.getAllDependencies(file)].sort().map((name) => `${name} ${contentOf(name)}`);
    keys.set(file.fileName, sha256(tools, global, path, contentOf(file.fileName), ...dependencies));
  }
  return keys;
}

/** The stored results by relative path (`{ key, result }`), or none when there is no readable store. */
export function readLintResults(path) {
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8'));
    return stored.format === FORMAT ? new Map(Object.entries(stored.files)) : new Map();
  } catch {
    return new Map(); // none yet, or unreadable: everything is linted
  }
}

/** Stores `entries` (relative path to `{ key, result }`). */
export function writeLintResults(path, entries) {
  writeRenamed(path, JSON.stringify({ format: FORMAT, files: Object.fromEntries(entries) }));
}
