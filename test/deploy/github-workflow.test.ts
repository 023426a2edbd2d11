// The hosted CI (.github/workflows/ci.yml) runs the README's test command on
// exactly the Node versions package.json's engines.node supports.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { supportedNode } from '../../scripts/lib/node-support.mjs';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  'runs-on'?: string;
  strategy?: { matrix?: Record<string, unknown> };
  steps?: Step[];
}

const workflow = parse(read('.github/workflows/ci.yml')) as { on?: unknown; jobs?: Record<string, Job> };
const jobs = Object.values(workflow.jobs ?? {});
/** The job that runs the test command. */
const testJob = jobs.find((job) => job.steps?.some((step) => step.run?.trim() === 'npm test'));
const steps = testJob?.steps ?? [];
const majors = supportedNode(fileURLToPath(root)).lines.map((line) => line.major);

describe('.github/workflows/ci.yml', () => {
  it("runs the README's test command", () => {
    // The quick start's command block names it.
    expect(read('README.md')).toMatch(/^npm test\b/m);
    expect(testJob).toBeDefined();
  });

  it('on ubuntu-latest, for every supported Node major and no other', () => {
    expect(majors.length).toBeGreaterThan(0);
    expect(testJob?.['runs-on']).toBe('ubuntu-latest');
    expect(testJob?.strategy?.matrix?.['node']).toEqual(majors);
  });

  it('checks the code out, then sets up the matrix Node before running it', () => {
    const checkout = steps.findIndex((step) => step.uses?.startsWith('actions/checkout@'));
    const setup = steps.findIndex((step) => step.uses?.startsWith('actions/setup-node@'));
    const test = steps.findIndex((step) => step.run?.trim() === 'npm test');
    expect(checkout).toBeGreaterThanOrEqual(0);
    expect(setup).toBeGreaterThan(checkout);
    expect(test).toBeGreaterThan(setup);
    expect(steps[setup]?.with?.['node-version']).toBe('${{ matrix.node }}');
  });

  it('installs redis-server with apt-get, as npm test does as root, and points the browser tests at a Chrome', () => {
    const test = steps.findIndex((step) => step.run?.trim() === 'npm test');
    const apt = steps.findIndex((step) => /sudo .*apt-get install .*\bredis-server\b/.test(step.run ?? ''));
    expect(apt).toBeGreaterThanOrEqual(0);
    expect(apt).toBeLessThan(test);
    expect(steps[test]?.env?.['CHROMIUM_PATH']).toMatch(/^\//);
  });

  it('runs on pushes to main and on pull requests', () => {
    expect(workflow.on).toMatchObject({ push: { branches: ['main'] }, pull_request: null });
  });
});
