import { ESLint } from 'eslint';
import { getFileInfo } from 'prettier';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/build-check.js';

// A user's model file kept in the repository (`./my-model.mjs`, `models/…`)
// is theirs: `npm test`'s lint and format check must never fail because of
// it. Asked of the tools' own configuration, as `npm run lint` reads it.

const USER_FILES = ['my-model.mjs', 'my-model.js', 'my-model.cjs', 'models/sentiment/index.mjs', 'models/x.ts'];
const OURS = [
  'eslint.config.js',
  'vitest.config.ts',
  'scripts/start.mjs',
  'apps/api/src/app.ts',
  'test/fixtures/model-sync.mjs',
];

describe("a user's model files", () => {
  const eslint = new ESLint({ cwd: ROOT });
  const prettierIgnored = async (file: string) =>
    (await getFileInfo(`${ROOT}${file}`, { ignorePath: `${ROOT}.prettierignore` })).ignored;

  it.each(USER_FILES)('%s is neither linted nor format-checked', async (file) => {
    expect(await eslint.isPathIgnored(`${ROOT}${file}`)).toBe(true);
    expect(await prettierIgnored(file)).toBe(true);
  });

  it.each(OURS)('%s, ours, still is', async (file) => {
    expect(await eslint.isPathIgnored(`${ROOT}${file}`)).toBe(false);
    expect(await prettierIgnored(file)).toBe(false);
  });
});
