// Types of static-checks.mjs, for its test.
import type { Diagnostic, Program } from 'typescript';

export interface TypeCheck {
  /** Undefined when tsconfig itself cannot be read. */
  readonly program: Program | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: number;
}

export function typeCheck(tsconfig: string): TypeCheck;
export function formatDiagnostics(diagnostics: readonly Diagnostic[], cwd: string, colour: boolean): string;
export function lint(cwd: string, program: Program): Promise<{ readonly text: string; readonly errors: number }>;
