// The type-check and the lint on one TypeScript program. `tsc -p` and
// ESLint's typed rules would each build the whole repository's program and
// work out the same types; here ESLint is handed the program the type-check
// built, and finds most of its types already worked out.
//
// Both keep what they found for the next check when asked to: the type-check
// when the tsconfig says `incremental` (tsc's own record, as `tsc -p` keeps
// it), the lint when given a file to keep its results in
// (lint-results-cache.mjs: a file's results are reused only while every file
// its types come from is unchanged).
import { join, relative, sep } from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { foretellConfig } from '../../eslint.config.js';
import { lintKeys, readLintResults, writeLintResults } from './lint-results-cache.mjs';
import { writeRenamed } from './write-renamed.mjs';

/** Writes only tsc's record of the check: a program that says noEmit has nothing else to write. */
function writeRecordOnly(fileName, text) {
  if (fileName.endsWith('.tsbuildinfo')) writeRenamed(fileName, text);
}

/**
 * The program of `tsconfig` as `tsc -p` builds it, with every compiler
 * diagnostic tsc would print. With `incremental` in the tsconfig, it is
 * built on tsc's record of the last check (`tsBuildInfoFile`), which holds
 * each file's diagnostics: only the files that changed, and those whose
 * types they change, are checked again; `builder` is then the incremental
 * program, which knows each file's dependencies.
 */
export function typeCheck(tsconfig) {
  const diagnostics = [];
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => diagnostics.push(diagnostic) };
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, host);
  let program;
  let builder;
  if (config !== undefined) {
    const setup = {
      rootNames: config.fileNames,
      options: config.options,
      projectReferences: config.projectReferences,
      configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
    };
    if (config.options.incremental) {
      builder = ts.createIncrementalProgram({ ...setup, host: ts.createIncrementalCompilerHost(config.options) });
      program = builder.getProgram();
      // The same diagnostics, each file's from the record unless it must be checked again.
      diagnostics.push(...ts.getPreEmitDiagnostics(builder));
      builder.emit(undefined, writeRecordOnly);
    } else {
      program = ts.createProgram(setup);
      diagnostics.push(...ts.getPreEmitDiagnostics(program));
    }
  }
  const errors = diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error).length;
  return { program, builder, diagnostics, errors };
}

/** tsc's own text for `diagnostics`, file names relative to `cwd`. */
export function formatDiagnostics(diagnostics, cwd, colour) {
  const host = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => cwd, getNewLine: () => '\n' };
  return (colour ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(diagnostics, host);
}

/** `path` as an ESLint pattern that matches it alone. */
const exactPattern = (path) =>
  path
    .split(sep)
    .join('/')
    .replace(/[*?[\]{}()!+@\\]/g, '\\$&');

/**
 * ESLint with eslint.config.js's rules on every file under `cwd`, its typed
 * rules on `program`: a typed file outside the program is a parse error, as
 * one outside the tsconfig.json is for `eslint .`. Resolves with the report
 * (ESLint's "stylish" text), the number of errors (warnings do not fail), and
 * how many files were linted and how many reported from the last check's
 * results. Those are kept in `cache.file` when `cache` is given, with
 * `cache.builder`, the incremental program that `program` comes from.
 */
export async function lint(cwd, program, cache) {
  const keys = cache ? lintKeys(cwd, cache.builder) : new Map();
  const stored = cache ? readLintResults(cache.file) : new Map();
  const kept = new Map();
  for (const [fileName, key] of keys) {
    const path = relative(cwd, fileName);
    const entry = stored.get(path);
    if (entry?.key === key) kept.set(path, entry);
  }
  const eslint = new ESLint({
    cwd,
    overrideConfigFile: true,
    // Every file may have results kept: then nothing under `cwd` is left to lint.
    errorOnUnmatchedPattern: false,
    baseConfig: [...foretellConfig({ programs: [program] }), { ignores: [...kept.keys()].map(exactPattern) }],
  });
  const linted = await eslint.lintFiles(['.']);
  if (cache) {
    const entries = new Map(kept);
    for (const result of linted) {
      const path = relative(cwd, result.filePath);
      const key = keys.get(result.filePath);
      if (key !== undefined) entries.set(path, { key, result: { ...result, filePath: path, source: undefined } });
    }
    writeLintResults(cache.file, entries);
  }
  const reused = [...kept.values()].map(({ result }) => ({ ...result, filePath: join(cwd, result.filePath) }));
  const results = [...linted, ...reused].sort((a, b) =>
    a.filePath < b.filePath ? -1 : a.filePath > b.filePath ? 1 : 0,
  );
  const text = await (await eslint.loadFormatter('stylish')).format(results);
  return {
    text,
    errors: results.reduce((sum, result) => sum + result.errorCount, 0),
    linted: linted.length,
    reused: reused.length,
  };
}
