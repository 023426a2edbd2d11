import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Files that start processes or a browser (test/e2e, test/browser, apps/<app>/test/*.browser.test.ts). */
const PROCESS_FILE = /^(test\/(e2e|browser)\/.*|apps\/[^/]+\/test\/.*\.browser)\.test\.ts$/;

/**
 * Vitest's own order (project by project; within one, the files that failed
 * last time, then the longest by the last run, or in a clean checkout the
 * largest), except that within a project the files that start processes or
 * a browser come first: started last, one of them would end the run alone,
 * and in a clean checkout there are no times to say which are long.
 */
export class ProcessFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification) => PROCESS_FILE.test(relative(spec.project.config.root, spec.moduleId));
    // Stable: each group keeps vitest's order, and so do the projects.
    return sorted
      .map((spec, index) => ({ spec, index }))
      .sort((a, b) => {
        if (a.spec.project.name !== b.spec.project.name) return a.index - b.index;
        return Number(first(b.spec)) - Number(first(a.spec)) || a.index - b.index;
      })
      .map(({ spec }) => spec);
  }
}
