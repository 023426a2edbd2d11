// Types of static-checks.mjs, for its test.
import type { BuilderProgram, Diagnostic, Program } from 'typescript';

export interface TypeCheck {
  /** Undefined when tsconfig itself cannot be read. */
  readonly program: Program | undefined;
  /** The incremental program, when the tsconfig says `incremental`. */
  readonly builder: BuilderProgram | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: number;
}

export interface LintReport {
  readonly text: string;
  readonly errors: number;
  /** Files ESLint linted in this check. */
  readonly linted: number;
  /** Files whose results were reported from the last check's, unchanged. */
  readonly reused: number;
}

export function typeCheck(tsconfig: string): TypeCheck;
export function formatDiagnostics(diagnostics: readonly Diagnostic[], cwd: string, colour: boolean): string;
export function lint(
  cwd: string,
  program: Program,
  cache?: { readonly builder: BuilderProgram; readonly file: string },
): Promise<LintReport>;
