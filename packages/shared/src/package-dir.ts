import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the package that holds the module at `moduleUrl` (its
 * import.meta.url): the nearest folder above it with a package.json. The
 * same package from its src/ (the tests), from a package's dist/, and from
 * an app's bundle, whose code is in dist/ and dist/chunks/: a relative path
 * from the module would differ between them.
 */
export function packageDirOf(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${moduleUrl}`);
    dir = parent;
  }
  return dir;
}
