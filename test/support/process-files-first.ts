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
    // Vitest's order keeps each project's files together: a file's place is its
    // project's place, then its group, then its place in vitest's order.
    const projects = [...new Set(sorted.map((spec) => spec.project.name))];
    return sorted
      .map((spec, index) => ({
        spec,
        index,
        project: projects.indexOf(spec.project.name),
        later: PROCESS_FILE.test(relative(spec.project.config.root, spec.moduleId)) ? 0 : 1,
      }))
      .sort((a, b) => a.project - b.project || a.later - b.later || a.index - b.index)
      .map(({ spec }) => spec);
  }
}
