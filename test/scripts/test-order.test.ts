import type { TestSpecification, Vitest } from 'vitest/node';
import { describe, expect, it } from 'vitest';
import { ProcessFilesFirst } from '../support/process-files-first.js';

// The order vitest.config.ts gives the files: within a project, the files
// that start processes or a browser first. Checked as in a clean checkout
// (no times of a last run: vitest takes the largest files first), where the
// end-to-end files are not the largest.

const ROOT = '/repo';

function spec(project: string, file: string): TestSpecification {
  return {
    moduleId: `${ROOT}/${file}`,
    project: { name: project, config: { root: ROOT, isolate: false, sequence: { groupOrder: 0 } } },
  } as unknown as TestSpecification;
}

/** Vitest's cache as in a clean checkout: no results, only each file's size. */
function cleanCheckout(sizes: Record<string, number>): Vitest {
  return {
    config: { root: ROOT },
    cache: {
      getFileTestResults: () => undefined,
      getFileStats: (key: string) => ({ size: sizes[key.slice(key.indexOf(':') + 1)] ?? 0 }),
    },
  } as unknown as Vitest;
}

describe('ProcessFilesFirst', () => {
  it('runs the projects in the order of their names, and in each the process and browser files first, largest first', async () => {
    const files = [
      spec('shared', 'apps/api/test/http-fuzz.test.ts'),
      spec('shared', 'test/e2e/cancel.test.ts'),
      spec('shared', 'apps/consumer/test/cli-mistakes.test.ts'),
      spec('shared', 'apps/api/test/swagger-ui.browser.test.ts'),
      spec('bench', 'bench/test/smoke.test.ts'),
      spec('shared', 'test/browser/dashboard.test.ts'),
      spec('shared', 'test/e2e/webhooks.test.ts'),
      spec('mocking', 'apps/api/test/api-keys-compare.test.ts'),
    ];
    const sizes = {
      'apps/api/test/http-fuzz.test.ts': 9000,
      'apps/consumer/test/cli-mistakes.test.ts': 8000,
      'test/e2e/webhooks.test.ts': 7000,
      'apps/api/test/swagger-ui.browser.test.ts': 6000,
      'test/e2e/cancel.test.ts': 5000,
      'test/browser/dashboard.test.ts': 4000,
    };
    const sorted = await new ProcessFilesFirst(cleanCheckout(sizes)).sort(files);
    expect(sorted.map(({ moduleId }) => moduleId.slice(ROOT.length + 1))).toEqual([
      'bench/test/smoke.test.ts',
      'apps/api/test/api-keys-compare.test.ts',
      'test/e2e/webhooks.test.ts',
      'apps/api/test/swagger-ui.browser.test.ts',
      'test/e2e/cancel.test.ts',
      'test/browser/dashboard.test.ts',
      'apps/api/test/http-fuzz.test.ts',
      'apps/consumer/test/cli-mistakes.test.ts',
    ]);
  });
});
