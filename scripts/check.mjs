// `npm test`'s type-check and lint, in one process on one TypeScript program
// (lib/static-checks.mjs): `tsc -p tsconfig.json` and `eslint .` apart took
// 55 s of CPU here from a clean checkout, 32 s together. The same checks:
// every compiler diagnostic of the root tsconfig.json, every rule of
// eslint.config.js; warnings are shown, errors fail. `npm run typecheck` and
// `npm run lint` still run each alone.
//
// What a check found is kept for the next in node_modules/.cache (tsc's
// record, which `npm run typecheck` shares, and ESLint's results): a file is
// checked again when it, or a file its types come from, has changed.
import { fileURLToPath } from 'node:url';
import { formatDiagnostics, lint, typeCheck } from './lib/static-checks.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LINT_RESULTS = `${ROOT}node_modules/.cache/eslint/typed-results.json`;
const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;

const { program, builder, diagnostics, errors: typeErrors } = typeCheck(`${ROOT}tsconfig.json`);
process.stdout.write(formatDiagnostics(diagnostics, ROOT, colour));
// A tsconfig.json that cannot be read has its own diagnostic above, and nothing to lint.
const linted = program
  ? await lint(ROOT, program, builder && { builder, file: LINT_RESULTS })
  : { text: '', errors: 0, linted: 0, reused: 0 };
process.stdout.write(linted.text);
process.stdout.write(
  `type-check: ${typeErrors} errors; ESLint: ${linted.errors} errors ` +
    `(${linted.linted} files linted, ${linted.reused} unchanged since the last check)\n`,
);
if (program === undefined || typeErrors > 0 || linted.errors > 0) process.exitCode = 1;
