// The API's build after its type-check: dist/server.js, one module (see
// packages/shared/scripts/bundle-app.mjs for why).
import { fileURLToPath } from 'node:url';
import { bundleApp } from '../../../packages/shared/scripts/bundle-app.mjs';

await bundleApp(fileURLToPath(new URL('..', import.meta.url)), ['src/server.ts', 'src/preflight.ts']);
