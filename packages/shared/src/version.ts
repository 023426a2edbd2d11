import { readFileSync } from 'node:fs';

/**
 * foretell's release version (semver): every workspace package.json carries
 * the same one (test/scripts/versions.test.ts), and this reads it from
 * @foretell/shared's own manifest, which travels with the package into each
 * app's image (pnpm deploy). The OpenAPI document's info.version and both
 * apps' /health answer with it. `src/` in tests and `dist/` when built are
 * both one level below the manifest.
 */
function readVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`@foretell/shared's package.json has no semver version (found ${JSON.stringify(version)})`);
  }
  return version;
}

export const FORETELL_VERSION: string = readVersion();
