// The consumer's build after its type-check: dist/main.js (the consumer) and
// dist/cli.js (`foretell dead …`), one module each (see
// packages/shared/scripts/bundle-app.mjs for why).
import { fileURLToPath } from 'node:url';
import { bundleApp } from '../../../packages/shared/scripts/bundle-app.mjs';

await bundleApp(fileURLToPath(new URL('..', import.meta.url)), ['src/main.ts', 'src/cli.ts', 'src/preflight.ts']);
