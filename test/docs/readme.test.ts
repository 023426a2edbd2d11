import { readFileSync } from 'node:fs';
import { redisKeys } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { ApiConfigSchema } from '../../apps/api/src/config.js';
import { ERROR_CATALOGUE } from '../../apps/api/src/errors.js';
import { ConsumerConfigSchema } from '../../apps/consumer/src/config.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
// Read by scripts/start.mjs and scripts/test.mjs, not by the apps.
const RUNNER_VARIABLES = ['LOCAL_REDIS_PORT', 'LOCAL_REDIS_DIR', 'LOCAL_REDIS_MAXMEMORY', 'CHROMIUM_PATH'];

/** The text under a heading, up to the next heading of its level or above. */
function section(heading: string): string {
  const level = heading.split(' ')[0] ?? '';
  const after = README.split(`\n${heading}\n`)[1] ?? '';
  const next = after.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return next < 0 ? after : after.slice(0, next);
}

/** Each row of a table whose second cell names codes: `status code` for every code in it. */
function codeRows(text: string): string[] {
  return [...text.matchAll(/^\| (\d{3}) +\| ([^|]+)\|/gm)].flatMap(([, status, codes]) =>
    [...(codes ?? '').matchAll(/`([A-Z_]+)`/g)].map(([, code]) => `${status} ${code}`),
  );
}

const CATALOGUE_ROWS = Object.entries(ERROR_CATALOGUE).map(([code, { statusCode }]) => `${statusCode} ${code}`);

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

  it('lists every code of the error catalogue in the error table, once, with its status, by status', () => {
    const rows = codeRows(section('### Errors'));
    expect([...rows].sort()).toEqual([...CATALOGUE_ROWS].sort());
    const statuses = rows.map((row) => Number(row.split(' ')[0]));
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
  });

  it('tells a client what to do for every code of the catalogue, under its status', () => {
    expect(codeRows(section('### What each status means for a client')).sort()).toEqual([...CATALOGUE_ROWS].sort());
  });

  it("quotes each coded error body with the catalogue's message", () => {
    const bodies = [...README.matchAll(/\{"error":"(?:[^"\\]|\\.)*","code":"[A-Z_]+"\}/g)].map(
      ([text]) => JSON.parse(text) as { error: string; code: string },
    );
    expect(bodies.length).toBeGreaterThan(5);
    for (const { error, code } of bodies) {
      const entry = (ERROR_CATALOGUE as Record<string, { message: string } | undefined>)[code];
      expect(entry, code).toBeDefined();
      // These three name what was invalid or missing; every other code has one sentence.
      if (!['INVALID_REQUEST', 'INVALID_WEBHOOK', 'NOT_READY'].includes(code)) expect(error, code).toBe(entry?.message);
    }
  });

  it('names, in the redis-cli commands, only keys the key layout has', () => {
    const keys = redisKeys('foretell');
    const layout = [
      keys.jobs,
      keys.group,
      keys.dead,
      keys.done,
      keys.started,
      keys.canceled,
      keys.webhooks,
      keys.webhookFailures,
      keys.retries,
      keys.backlogBytes,
      keys.job('<prediction_id>'),
      keys.idempotency('order-1234'),
      keys.idempotency('order-1234', '<key id>'),
      keys.ownerJobs('<key id>'),
      keys.models,
      keys.stats,
    ];
    // A name runs to a space or a closing parenthesis (placeholders such as `<key id>` included); a final colon is prose.
    const named = [...section('## Inspecting with redis-cli').matchAll(/foretell:(?:<[^>]+>|[^\s<)])+/g)].map(
      ([name]) => name.replace(/:$/, ''),
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => !layout.includes(name))).toEqual([]);
  });

  it('shows how to run the benchmark smoke mode', () => {
    expect(section('## Benchmarks')).toContain('npm run bench -- --smoke');
  });

  it('puts the two commands at the top', () => {
    const quickStart = README.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    expect(quickStart).toContain('npm start');
    expect(quickStart).toContain('npm test');
  });
});
