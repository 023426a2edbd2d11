// Run by the build after tsc: turns dist/typebox.js, three re-exports of
// TypeBox's modules, into one module holding what they export (see
// src/typebox.ts for why). Its types stay tsc's dist/typebox.d.ts.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: dir,
  entryPoints: ['src/typebox.ts'],
  outfile: 'dist/typebox.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'inline',
});
