import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageDirOf } from './package-dir.js';

/**
 * foretell's release version (semver): every workspace package.json carries
 * the same one (test/scripts/versions.test.ts), and this reads it from the
 * manifest of the package this code runs in: @foretell/shared's own, or an
 * app's, whose bundle (its dist/) holds this code. The manifests travel with
 * the packages into each app's image (pnpm deploy). The OpenAPI document's
 * info.version and both apps' /health answer with it.
 */
function readVersion(): string {
  const manifestFile = join(packageDirOf(import.meta.url), 'package.json');
  const manifest: unknown = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const version =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`${manifestFile} has no semver version (found ${JSON.stringify(version)})`);
  }
  return version;
}

export const FORETELL_VERSION: string = readVersion();
