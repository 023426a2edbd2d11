// One version, one licence and one Node range for the whole repository, and a
// range that every production dependency accepts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FORETELL_VERSION } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { isSupportedNode, supportedNode, unsupportedNodeWarning } from '../../scripts/lib/node-support.mjs';

const root = new URL('../../', import.meta.url);
const ROOT = fileURLToPath(root);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Manifest {
  name: string;
  version?: string;
  license?: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}
const manifest = (dir: string) => JSON.parse(read(`${dir}package.json`)) as Manifest;

/** Every workspace package, the root first. */
const DIRS = ['', 'apps/api/', 'apps/consumer/', 'packages/shared/', 'packages/sentiment-model/', 'bench/'];
/** The example model's version is its model version (Foretell-Model-Version), not foretell's release. */
const RELEASED = DIRS.filter((dir) => dir !== 'packages/sentiment-model/');
/** What the apps' images run: their dependencies and @foretell/shared's. */
const SHIPPED = ['apps/api/', 'apps/consumer/', 'packages/shared/', 'packages/sentiment-model/'];

const { range, lines } = supportedNode(ROOT);

/** Whether an npm engines range such as `>=22.15.0`, `^16 || >=20` or `>=20.x` admits `version`. */
function admits(engines: string, [major, minor, patch]: number[]): boolean {
  return engines.split('||').some((part) => {
    const match = /^(>=|\^)?\s*(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(part.trim());
    if (!match) throw new Error(`unread engines range: ${engines}`);
    const [, op, ...rest] = match;
    const [a, b, c] = rest.map((n) => (n === undefined || n === 'x' ? 0 : Number(n)));
    const atLeast = major! > a! || (major === a && (minor! > b! || (minor === b && patch! >= c!)));
    return op === '>=' ? atLeast : major === a && atLeast;
  });
}

describe('versions', () => {
  it('every released package carries one semver version, which the apps report', () => {
    const versions = new Set(RELEASED.map((dir) => manifest(dir).version));
    expect([...versions]).toEqual([FORETELL_VERSION]);
    expect(FORETELL_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('CHANGELOG.md has a section for it, in Keep a Changelog form', () => {
    const changelog = read('CHANGELOG.md');
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    expect(changelog).toMatch(
      new RegExp(`^## \\[${FORETELL_VERSION.replaceAll('.', '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'),
    );
  });

  it('every package is Apache-2.0, as LICENSE says', () => {
    expect(DIRS.map((dir) => manifest(dir).license)).toEqual(DIRS.map(() => 'Apache-2.0'));
    expect(read('LICENSE')).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  });

  it('every package states the same Node range', () => {
    expect(DIRS.map((dir) => manifest(dir).engines?.node)).toEqual(DIRS.map(() => range));
  });

  it("the range's first release of each line satisfies every shipped dependency's engines", () => {
    const refused: string[] = [];
    for (const dir of SHIPPED) {
      for (const name of Object.keys(manifest(dir).dependencies ?? {})) {
        if (name.startsWith('@foretell/')) continue;
        const engines = manifest(`${dir}node_modules/${name}/`).engines?.node;
        if (engines === undefined) continue;
        for (const { major, minor, patch } of lines) {
          if (!admits(engines, [major, minor, patch]))
            refused.push(`${name} (${engines}) refuses ${major}.${minor}.${patch}`);
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it('the OpenTelemetry SDK 3 sets the floor of the 22 line', () => {
    const sdk = manifest('packages/shared/node_modules/@opentelemetry/sdk-trace/').engines?.node;
    expect(sdk).toBe('>=22.15.0');
    expect(admits(sdk!, [22, 14, 0])).toBe(false);
    expect(lines.find((line) => line.major === 22)).toEqual({ major: 22, minor: 15, patch: 0 });
  });
});

describe('node-support.mjs', () => {
  it('reads engines.node as its lines', () => {
    expect(range).toBe('^22.15.0 || ^24.0.0');
    expect(lines.map((line) => line.major)).toEqual([22, 24]);
  });

  it('admits a release within a line, from its first supported one', () => {
    expect(isSupportedNode('22.15.0', lines)).toBe(true);
    expect(isSupportedNode('v22.23.3', lines)).toBe(true);
    expect(isSupportedNode('24.0.0', lines)).toBe(true);
    expect(isSupportedNode('22.14.9', lines)).toBe(false);
    expect(isSupportedNode('20.20.2', lines)).toBe(false);
    expect(isSupportedNode('23.11.0', lines)).toBe(false);
    expect(isSupportedNode('26.1.0', lines)).toBe(false);
  });

  it('warns about an unsupported Node, naming it and the range, and stays silent on a supported one', () => {
    expect(unsupportedNodeWarning(ROOT, '20.19.0')).toBe(
      'Node 20.19.0 is outside the supported versions (^22.15.0 || ^24.0.0): it may work, ' +
        'but a fault seen only there will not be fixed (README, "Node versions")',
    );
    expect(unsupportedNodeWarning(ROOT, '24.1.0')).toBeUndefined();
  });
});
