// Types of node-support.mjs, which stays plain JavaScript because `npm start`
// and `npm test` run it before anything is installed.

export interface NodeLine {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The `engines.node` range of the package.json at `root`, and its lines. */
export function supportedNode(root: string): { readonly range: string; readonly lines: readonly NodeLine[] };

/** Whether `version` ("22.15.0", "v24.1.0") falls within one of `lines`. */
export function isSupportedNode(version: string, lines: readonly NodeLine[]): boolean;

/** The warning for a Node outside the supported range, or undefined. */
export function unsupportedNodeWarning(root: string, version?: string): string | undefined;
