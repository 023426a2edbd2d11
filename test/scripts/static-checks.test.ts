import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
    expect(linted).toEqual({ text: '', errors: 0 });
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
