import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXTERNAL as BUNDLER_EXTERNAL,
  READ_OWN_FILES as BUNDLER_READ_OWN_FILES,
} from '../../packages/shared/scripts/bundle-app.mjs';
import { ROOT } from '../support/build-check.js';

// What the apps' builds run (packages/shared/scripts/bundle-app.mjs): each
// entry point one ES module holding its dependencies, so that a start loads a
// handful of files instead of about 630 modules; the features a start may not
// need are chunks of their own, loaded by a dynamic import when used. Read
// from the build itself, as the processes and the images run it.

const ENTRIES = {
  api: ['server', 'preflight'],
  consumer: ['main', 'cli', 'preflight'],
} as const;
/** Left to Node by the bundler, and resolved from the app's own dependencies. */
const EXTERNAL = new Set(BUNDLER_EXTERNAL);
/** Packages whose bundled modules find their own folder through Node's resolution. */
const READ_OWN_FILES = new Set(BUNDLER_READ_OWN_FILES);

interface Imports {
  readonly static: string[];
  readonly dynamic: string[];
  /** Names handed to the bundle's `require` (CommonJS dependencies' built-ins). */
  readonly required: string[];
  /** Names handed to `require.resolve`. */
  readonly resolved: string[];
}

const matches = (code: string, pattern: RegExp) => [...code.matchAll(pattern)].map((match) => match[1] ?? '');

function importsOf(code: string): Imports {
  return {
    // esbuild writes its own imports with double quotes, one per statement start.
    static: matches(code, /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm).concat(
      matches(code, /^import\s*"([^"]+)"/gm),
    ),
    dynamic: matches(code, /\bimport\("([^"]+)"\)/g),
    required: matches(code, /\b__require\("([^"]+)"\)/g),
    resolved: matches(code, /\b__require\.resolve\("([^"]+)"\)/g),
  };
}

/** The files of `app`'s dist/ reached from `entry`: through static imports only, or through dynamic ones too. */
function reached(app: string, entry: string, { dynamic }: { dynamic: boolean }): Map<string, Imports> {
  const dist = join(ROOT, 'apps', app, 'dist');
  const found = new Map<string, Imports>();
  const visit = (file: string) => {
    if (found.has(file)) return;
    const imports = importsOf(readFileSync(file, 'utf8'));
    found.set(file, imports);
    for (const specifier of dynamic ? [...imports.static, ...imports.dynamic] : imports.static) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier));
    }
  };
  visit(join(dist, `${entry}.js`));
  return new Map([...found].map(([file, imports]) => [relative(dist, file), imports]));
}

const cases = Object.entries(ENTRIES).flatMap(([app, entries]) => entries.map((entry) => [app, entry] as const));

describe("the apps' bundles", () => {
  it.each(cases)(
    "%s dist/%s.js loads from outside its dist/ only Node built-ins and the bundler's externals (piscina)",
    (app, entry) => {
      const files = reached(app, entry, { dynamic: true });
      const outside = [...files.values()].flatMap((imports) =>
        [...imports.static, ...imports.dynamic, ...imports.required].filter((name) => !name.startsWith('.')),
      );
      expect(outside.filter((name) => !isBuiltin(name) && !EXTERNAL.has(name))).toEqual([]);
      const resolved = [...files.values()].flatMap((imports) => imports.resolved);
      expect(resolved.filter((name) => !READ_OWN_FILES.has(name.replace(/\/package\.json$/, '')))).toEqual([]);
    },
  );

  it("an API's start loads neither the OpenTelemetry SDK, nor the model pool (and piscina), nor the rate limiter", () => {
    const chunks = (files: Map<string, Imports>) => [...files.keys()].map((file) => file.replace(/-\w+\.js$/, ''));
    const atStart = chunks(reached('api', 'server', { dynamic: false }));
    const lazy = ['chunks/otel-tracing', 'chunks/model-pool', 'chunks/rate-limiter-flexible'];
    for (const chunk of lazy) expect(atStart).not.toContain(chunk);
    // The control: each is in the build, reached through a dynamic import.
    const all = chunks(reached('api', 'server', { dynamic: true }));
    for (const chunk of lazy) expect(all).toContain(chunk);
    expect([...reached('api', 'server', { dynamic: false }).values()].flatMap((file) => file.static)).not.toContain(
      'piscina',
    );
  });

  it("a consumer's start loads neither the OpenTelemetry SDK nor the model pool", () => {
    const atStart = [...reached('consumer', 'main', { dynamic: false }).keys()];
    expect(atStart.filter((file) => /chunks\/(otel-tracing|model-pool)-/.test(file))).toEqual([]);
    const all = [...reached('consumer', 'main', { dynamic: true }).keys()];
    expect(all.filter((file) => /chunks\/(otel-tracing|model-pool)-/.test(file))).toHaveLength(2);
  });

  it('use a free __dirname only in the code of pino transports, which foretell never starts', () => {
    const users = new Set<string>();
    for (const app of Object.keys(ENTRIES)) {
      const dist = join(ROOT, 'apps', app, 'dist');
      const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
      for (const file of files) {
        // esbuild opens each module's code with a comment naming its file: the package is in that path.
        // A module of READ_OWN_FILES declares its own `__dirname` (renamed `__dirname2`… where names clash).
        const sections = readFileSync(join(dist, file), 'utf8').split(/^(?=\/\/ \S+\.[cm]?[jt]s$)/m);
        for (const section of sections) {
          const free = /(?<![\w$.])__dirname\b/.test(section) && !/\bvar __dirname = /.test(section);
          const module = /^\/\/ (\S+)/.exec(section)?.[1] ?? file;
          if (free) users.add(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(module)?.[1] ?? module);
        }
      }
    }
    expect([...users].sort()).toEqual(['pino', 'thread-stream']);
  });
});
