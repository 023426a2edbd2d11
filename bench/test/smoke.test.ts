import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { benchBuildState } from '../../scripts/lib/up-to-date.mjs';
import { SCENARIOS } from '../src/scenarios/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = join(ROOT, 'bench/dist/run.js');

interface SmokeReport {
  readonly figures: readonly { id: string; value: number; baseline: number; run: number; judgedInSmoke?: boolean }[];
  readonly summaries: readonly { id: string; verdict: string; target: { kind: string } }[];
  readonly failures: readonly { scenario: string; error: string }[];
}

function runSmoke(out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RUNNER, '--smoke', '--out', out],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('pnpm bench --smoke', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every scenario against its baseline and reports a number for each figure', async () => {
    // It runs the bench's build: that must be the build of its sources (npm test, npm run build record it).
    expect(existsSync(RUNNER), 'bench/dist/run.js is missing: build first (npm test does)').toBe(true);
    expect(benchBuildState(ROOT).isUpToDate, 'bench/dist is not the build of bench/src: npm run build').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'foretell-bench-smoke-'));
    const out = join(dir, 'smoke.json');
    const { code, stdout, stderr } = await runSmoke(out);
    expect(code, `${stdout}\n${stderr}`).toBe(0);

    const report = JSON.parse(await readFile(out, 'utf8')) as SmokeReport;
    expect(report.failures).toEqual([]);
    for (const { name } of SCENARIOS) {
      const own = report.figures.filter((figure) => figure.id.startsWith(`${name}.`));
      expect(own.length, `figures of ${name}`).toBeGreaterThan(0);
      for (const figure of own) {
        expect(Number.isFinite(figure.value), `${figure.id} value`).toBe(true);
        expect(figure.baseline, `${figure.id} baseline`).toBeGreaterThan(0);
      }
    }
    // 200 requests cannot measure throughput, latency or RSS after the run: those are not judged.
    const judged = new Set(report.figures.filter((figure) => figure.judgedInSmoke).map((figure) => figure.id));
    expect(judged).toEqual(new Set(['memory.job-hash']));
    for (const summary of report.summaries) {
      if (summary.target.kind !== 'none' && !judged.has(summary.id)) {
        expect(summary.verdict, summary.id).toBe('not measured (smoke)');
      }
    }
    expect(stdout).toMatch(/^sync POST \/predict .* not measured \(smoke\)$/m);
    // The table is printed and a Markdown copy written next to the JSON.
    expect(stdout).toMatch(/figure\s+value\s+baseline\s+ratio\s+target\s+result/);
    const markdown = await readFile(join(dir, 'smoke.md'), 'utf8');
    expect(markdown).toMatch(/^\| figure +\| value +\| baseline +\|/m);
    // Its load runs are counted in requests, not timed.
    expect(markdown).toContain('0 s warm-up + 200 requests per run');
  }, 180_000);
});
