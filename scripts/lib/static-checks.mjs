// The type-check and the lint on one TypeScript program. `tsc -p` and
// ESLint's typed rules would each build the whole repository's program and
// work out the same types; here ESLint is handed the program the type-check
// built, and finds most of its types already worked out.
import { ESLint } from 'eslint';
import ts from 'typescript';
import { foretellConfig } from '../../eslint.config.js';

/**
 * The program of `tsconfig` as `tsc -p` builds it, with every compiler
 * diagnostic tsc would print. Not incremental: ESLint works out every file's
 * types anyway, so reading a record of the last check saved nothing.
 */
export function typeCheck(tsconfig) {
  const diagnostics = [];
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => diagnostics.push(diagnostic) };
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, { incremental: false }, host);
  let program;
  if (config !== undefined) {
    program = ts.createProgram({
      rootNames: config.fileNames,
      options: config.options,
      projectReferences: config.projectReferences,
      configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
    });
    diagnostics.push(...ts.getPreEmitDiagnostics(program));
  }
  const errors = diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error).length;
  return { program, diagnostics, errors };
}

/** tsc's own text for `diagnostics`, file names relative to `cwd`. */
export function formatDiagnostics(diagnostics, cwd, colour) {
  const host = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => cwd, getNewLine: () => '\n' };
  return (colour ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(diagnostics, host);
}

/**
 * ESLint with eslint.config.js's rules on every file under `cwd`, its typed
 * rules on `program`: a typed file outside the program is a parse error, as
 * one outside the tsconfig.json is for `eslint .`. Resolves with the report
 * (ESLint's "stylish" text) and the number of errors (warnings do not fail).
 */
export async function lint(cwd, program) {
  const eslint = new ESLint({ cwd, overrideConfigFile: true, baseConfig: foretellConfig({ programs: [program] }) });
  const results = await eslint.lintFiles(['.']);
  const text = await (await eslint.loadFormatter('stylish')).format(results);
  return { text, errors: results.reduce((sum, result) => sum + result.errorCount, 0) };
}
