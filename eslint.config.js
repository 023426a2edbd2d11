import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.data/**',
      'coverage/**',
      // A user's own model files (the README's `./my-model.mjs`, a `models/` folder) are theirs, not ours to lint.
      '*.{js,mjs,cjs}',
      '!eslint.config.js',
      'models/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // The root tsconfig.json is one program for every package: typed rules
      // then build it once, where the project service built one per package.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      // Fastify plugins and handlers are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain-Node scripts and configs: not type-checked, may print.
    files: ['**/*.mjs', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: null },
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'setTimeout', 'fetch', 'AbortController', 'AbortSignal'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    // The dashboard's page script: plain browser JavaScript, served as it is (no build step, no types).
    files: ['apps/api/dashboard/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      parserOptions: { project: null },
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'sessionStorage', 'setTimeout', 'clearTimeout', 'Intl', 'uPlot'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
    rules: tseslint.configs.disableTypeChecked.rules,
  },
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
