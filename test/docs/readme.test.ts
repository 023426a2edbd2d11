import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiConfigSchema } from '../../apps/api/src/config.js';
import { ConsumerConfigSchema } from '../../apps/consumer/src/config.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
// Read by scripts/start.mjs and scripts/test.mjs, not by the apps.
const RUNNER_VARIABLES = ['LOCAL_REDIS_PORT', 'LOCAL_REDIS_DIR', 'LOCAL_REDIS_MAXMEMORY', 'CHROMIUM_PATH'];

/** The configuration table: variable → default cell. */
function configurationTable(): Map<string, string> {
  const section = README.split('## Configuration')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, string>();
  for (const match of section.matchAll(/^\| `([A-Z_]+)`\s*\|\s*([^|]+?)\s*\|/gm)) {
    rows.set(match[1] ?? '', (match[2] ?? '').trim());
  }
  return rows;
}

const schemas = { ...ConsumerConfigSchema.properties, ...ApiConfigSchema.properties } as Record<
  string,
  { default?: unknown }
>;

describe('the README', () => {
  const table = configurationTable();

  it('documents every configuration variable the apps read, and no other', () => {
    expect([...table.keys()].sort()).toEqual([...Object.keys(schemas), ...RUNNER_VARIABLES].sort());
  });

  it.each(Object.entries(schemas).filter(([, schema]) => schema.default !== ''))(
    'gives the default of %s as the code has it',
    (name, schema) => {
      expect(table.get(name)).toBe(`\`${String(schema.default)}\``);
    },
  );

  it('puts the two commands at the top', () => {
    const quickStart = README.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    expect(quickStart).toContain('npm start');
    expect(quickStart).toContain('npm test');
  });
});
