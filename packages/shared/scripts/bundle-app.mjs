// Each app's build, after tsc has type-checked it (apps/*/scripts/bundle.mjs):
// every entry point of the app becomes one ES module in its dist/, holding
// the app's code, this package's and the dependencies'. Node's loader pays
// for each module it resolves, reads, compiles and links: an API start loaded
// about 630 of them, 0.7 s of CPU here, and 0.31 to 0.36 s as a bundle; a
// consumer's, 0.31 s against 0.15 to 0.17 s. Every start pays it: each
// deployment's processes, `npm start`, and the 170 processes the end-to-end
// tests start. What a module imports dynamically (the OpenTelemetry SDK, the
// model pool, the rate limiter) becomes a chunk of its own in dist/chunks/,
// named after it, which a start loads only when it uses it; code that two
// entry points share is a chunk too.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

/**
 * Left to Node, and resolved from the app's own node_modules at run time:
 * piscina starts its threads on its own worker file, found beside its code.
 * Each is a dependency of every app (pnpm gives an app only its own).
 */
export const EXTERNAL = ['piscina'];

/**
 * Packages whose code finds its own files from `__dirname`: Swagger UI's
 * static files, @fastify/swagger's and ioredis's own manifests (ioredis also
 * names its folder to trim error stacks). Bundled, their modules keep that:
 * in each, `__dirname` is set to where the module is installed, found by
 * Node's resolution from the bundle when it runs (every app that bundles one
 * depends on it). Other free `__dirname`s in the bundles are only in pino's
 * transports, which foretell never starts (test/scripts/app-bundles.test.ts).
 */
export const READ_OWN_FILES = ['@fastify/swagger', '@fastify/swagger-ui', 'ioredis'];

// ES module output: a CommonJS dependency's `require` of a Node built-in
// needs a `require` function, which an ES module has not.
const BANNER = [
  "import { createRequire as foretellCreateRequire } from 'node:module';",
  'const require = foretellCreateRequire(import.meta.url);',
].join('\n');

/** `__dirname` of each module of READ_OWN_FILES, resolved when the bundle runs. */
const ownFilesDirname = {
  name: 'own-files-dirname',
  setup(builder) {
    const escaped = READ_OWN_FILES.map((name) => name.replace(/[/]/g, '[\\\\/]'));
    const filter = new RegExp(`[\\\\/]node_modules[\\\\/](?:${escaped.join('|')})[\\\\/].*\\.[cm]?js$`);
    builder.onLoad({ filter }, async (args) => {
      const path = args.path.replaceAll('\\', '/');
      const name = READ_OWN_FILES.find((candidate) => path.includes(`/node_modules/${candidate}/`));
      const root = path.slice(0, path.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}`.length);
      const folder = relative(root, dirname(path)).replaceAll('\\', '/');
      const dirnameLine =
        `var __dirname = require('node:path').join(require('node:path').dirname(` +
        `require.resolve(${JSON.stringify(`${name}/package.json`)})), ${JSON.stringify(folder)});`;
      return { contents: `${dirnameLine}\n${await readFile(args.path, 'utf8')}`, loader: 'js' };
    });
  },
};

/** Bundles `entries` (paths under `appDir`, `src/server.ts`) into `appDir`/dist, which it empties first. */
export async function bundleApp(appDir, entries) {
  rmSync(join(appDir, 'dist'), { recursive: true, force: true });
  await build({
    absWorkingDir: appDir,
    entryPoints: entries,
    outdir: 'dist',
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    // The oldest Node the tests run on here (20; foretell supports 22.15 and 24).
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [ownFilesDirname],
    logLevel: 'warning',
    legalComments: 'eof',
  });
}
