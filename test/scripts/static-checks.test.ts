import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostics, lint, typeCheck } from '../../scripts/lib/static-checks.mjs';

// npm test's type-check and lint share one TypeScript program (scripts/check.mjs).
// Checked on a small project of its own: the type-check must still report a
// type error, and ESLint's typed rules must still see types through the
// shared program (a floating promise is found only with them).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'foretell-static-checks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function project(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(dir, 'project-'));
  const tsconfig = { compilerOptions: { strict: true, noEmit: true, types: [], lib: ['ES2023'] }, include: ['src'] };
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify(tsconfig));
  await mkdir(join(root, 'src'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, name), text);
  return root;
}

async function check(root: string) {
  const typed = typeCheck(join(root, 'tsconfig.json'));
  if (typed.program === undefined) throw new Error('no program');
  return { typed, linted: await lint(root, typed.program) };
}

describe('the type-check and lint on one program', () => {
  it('pass a project without a mistake', async () => {
    const root = await project({ 'src/ok.ts': 'export const answer: number = 42;\n' });
    const { typed, linted } = await check(root);
    expect(typed.errors).toBe(0);
    expect(linted).toEqual({ text: '', errors: 0, linted: 1, reused: 0 });
  });

  it('report a type error as tsc does', async () => {
    const root = await project({ 'src/bad.ts': "export const answer: number = 'forty-two';\n" });
    const { typed } = await check(root);
    expect(typed.errors).toBe(1);
    expect(formatDiagnostics(typed.diagnostics, root, false)).toBe(
      "src/bad.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.\n",
    );
  });

  it("give ESLint's typed rules the program's types: a floating promise is an error", async () => {
    const root = await project({
      'src/floating.ts': 'async function later(): Promise<number> {\n  return 1;\n}\nlater();\n',
    });
    const { typed, linted } = await check(root);
    expect(typed.errors).toBe(0);
    expect(linted.errors).toBe(1);
    expect(linted.text).toContain('@typescript-eslint/no-floating-promises');
  });

  it('fail a typed file that is not in the program, as eslint . does one outside tsconfig.json', async () => {
    const root = await project({ 'src/ok.ts': 'export const a = 1;\n', 'outside.ts': 'export const b = 2;\n' });
    const { typed, linted } = await check(root);
    expect(typed.errors).toBe(0);
    expect(linted.errors).toBe(1);
    expect(linted.text).toContain('outside.ts');
    expect(linted.text).toContain('not found in any of the provided program');
  });

  it('fail a tsconfig.json that cannot be read, with no program to lint', () => {
    const typed = typeCheck(join(dir, 'missing', 'tsconfig.json'));
    expect(typed.program).toBeUndefined();
    expect(typed.errors).toBe(1);
    expect(formatDiagnostics(typed.diagnostics, dir, false)).toContain('TS5083');
  });
});

// What npm test's check keeps for the next one (tsc's record, ESLint's results
// in a file of their own): reused only while nothing they came from changed.

/** A project whose tsconfig says `incremental`, as the repository's does; returns its root. */
async function incrementalProject(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(dir, 'incremental-'));
  const compilerOptions = {
    strict: true,
    noEmit: true,
    types: [],
    lib: ['ES2023'],
    target: 'ES2023',
    module: 'NodeNext',
    incremental: true,
    tsBuildInfoFile: 'cache/check.tsbuildinfo',
  };
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
  await writeFile(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  await mkdir(join(root, 'src'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, name), text);
  return root;
}

/** A check as scripts/check.mjs runs it, its lint results kept in the project's cache folder. */
async function checkKeeping(root: string) {
  const typed = typeCheck(join(root, 'tsconfig.json'));
  if (typed.program === undefined || typed.builder === undefined) throw new Error('no incremental program');
  const linted = await lint(root, typed.program, { builder: typed.builder, file: join(root, 'cache/lint.json') });
  return { typed, linted };
}

const FLOATING_ERROR = /src\/caller\.ts\n.*@typescript-eslint\/no-floating-promises/;

describe('the check kept for the next one', () => {
  it('reports the same errors from what it kept, linting no unchanged file again', async () => {
    const root = await incrementalProject({
      'src/ok.ts': 'export const answer: number = 42;\n',
      'src/floating.ts': 'async function later(): Promise<number> {\n  return 1;\n}\nlater();\n',
      'src/wrong.ts': "export const answer: number = 'forty-two';\n",
    });
    const first = await checkKeeping(root);
    expect(first.typed.errors).toBe(1);
    expect(first.linted).toMatchObject({ errors: 1, linted: 3, reused: 0 });
    expect(first.linted.text).toContain('@typescript-eslint/no-floating-promises');

    const second = await checkKeeping(root);
    expect(formatDiagnostics(second.typed.diagnostics, root, false)).toBe(
      formatDiagnostics(first.typed.diagnostics, root, false),
    );
    expect(second.linted).toEqual({ ...first.linted, linted: 0, reused: 3 });
  });

  it('lints an unchanged file again when a module it imports changes its types', async () => {
    const root = await incrementalProject({
      'src/source.ts': 'export function later(): number {\n  return 1;\n}\n',
      'src/caller.ts': "import { later } from './source.js';\n\nlater();\n",
    });
    expect((await checkKeeping(root)).linted).toMatchObject({ errors: 0, linted: 2 });
    // Only the imported file changes: the call in caller.ts becomes a floating promise.
    await writeFile(join(root, 'src/source.ts'), 'export async function later(): Promise<number> {\n  return 1;\n}\n');
    const { typed, linted } = await checkKeeping(root);
    expect(typed.errors).toBe(0);
    expect(linted).toMatchObject({ errors: 1, linted: 2, reused: 0 });
    expect(linted.text).toMatch(FLOATING_ERROR);
  });

  it('lints every file again when a global declaration changes, imported or not', async () => {
    const root = await incrementalProject({
      'src/globals.d.ts': 'declare function later(): number;\n',
      'src/caller.ts': 'export {};\n\nlater();\n',
      'src/other.ts': 'export const answer = 42;\n',
    });
    expect((await checkKeeping(root)).linted).toMatchObject({ errors: 0, linted: 3 });
    await writeFile(join(root, 'src/globals.d.ts'), 'declare function later(): Promise<number>;\n');
    const { linted } = await checkKeeping(root);
    expect(linted).toMatchObject({ errors: 1, linted: 3, reused: 0 });
    expect(linted.text).toMatch(FLOATING_ERROR);
  });

  it('lints an unchanged file again when a module it imports is augmented by one it does not import', async () => {
    const root = await incrementalProject({
      'src/api.ts': 'export interface Api {\n  later(): number;\n}\n',
      'src/caller.ts':
        "import type { Api } from './api.js';\n\nexport function use(api: Api): void {\n  api.later();\n}\n",
      'src/augment.ts': 'export {};\n',
    });
    expect((await checkKeeping(root)).linted).toMatchObject({ errors: 0, linted: 3 });
    // A later declaration of a merged interface's method comes first among its overloads.
    await writeFile(
      join(root, 'src/augment.ts'),
      "export {};\n\ndeclare module './api.js' {\n  interface Api {\n    later(): Promise<number>;\n  }\n}\n",
    );
    const { typed, linted } = await checkKeeping(root);
    expect(formatDiagnostics(typed.diagnostics, root, false)).toBe('');
    expect(linted).toMatchObject({ errors: 1, linted: 3, reused: 0 });
    expect(linted.text).toMatch(FLOATING_ERROR);
  });

  it('lints everything again when a compiler option changes', async () => {
    const root = await incrementalProject({ 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 2;\n' });
    expect((await checkKeeping(root)).linted).toMatchObject({ linted: 2, reused: 0 });
    const tsconfig = JSON.parse(await readFile(join(root, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
    };
    await writeFile(
      join(root, 'tsconfig.json'),
      JSON.stringify({ ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, noUncheckedIndexedAccess: true } }),
    );
    expect((await checkKeeping(root)).linted).toMatchObject({ linted: 2, reused: 0 });
  });

  it('lints everything again when the kept results cannot be read', async () => {
    const root = await incrementalProject({
      'src/floating.ts': 'async function later(): Promise<number> {\n  return 1;\n}\nlater();\n',
    });
    await checkKeeping(root);
    await writeFile(join(root, 'cache/lint.json'), '{"format": 1, "files": ');
    expect((await checkKeeping(root)).linted).toMatchObject({ errors: 1, linted: 1, reused: 0 });
    expect((await checkKeeping(root)).linted).toMatchObject({ errors: 1, linted: 0, reused: 1 });
  });
});
