/** Packages left to Node by the bundler (see bundle-app.mjs). */
export const EXTERNAL: readonly string[];
/** Packages whose bundled modules get their own `__dirname` (see bundle-app.mjs). */
export const READ_OWN_FILES: readonly string[];
/** Bundles `entries` (paths under `appDir`) into `appDir`/dist, which it empties first. */
export function bundleApp(appDir: string, entries: readonly string[]): Promise<void>;
