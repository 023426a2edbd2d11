// Types of up-to-date.mjs, which stays plain JavaScript because `npm start`
// runs it before anything is installed.

/** Whether a step may be skipped, and how to record it once it has run. */
export interface StepState {
  readonly isUpToDate: boolean;
  readonly record: () => void;
}

/** Whether the installed dependencies are those of the lockfile and manifests. */
export function installState(root: string): StepState;

/** A build step: also which packages it must build (in build order), none when it may be skipped. */
export interface BuildState extends StepState {
  readonly stale: readonly string[];
}

/** Whether the `dist` of what `npm start` runs is the recorded build of their current sources, and which are not. */
export function buildState(root: string): BuildState;

/** Whether the bench's `dist` is the recorded build of its current sources. */
export function benchBuildState(root: string): BuildState;
