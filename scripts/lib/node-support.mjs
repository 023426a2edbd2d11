// Which Node versions foretell supports, read from one place: the root
// package.json's `engines.node`, written as `^MAJOR.MINOR.PATCH` ranges joined
// by `||` (one per LTS line, from the first release the dependencies accept).
// Plain Node, no dependencies: `npm start` and `npm test` check the running
// Node before anything is installed.
import { readFileSync } from 'node:fs';

const CARET = /^\^(\d+)\.(\d+)\.(\d+)$/;

/** The `engines.node` range of the package.json at `root`, and its lines (`[{ major, minor, patch }]`). */
export function supportedNode(root) {
  const manifest = JSON.parse(
    readFileSync(new URL('package.json', `file://${root.endsWith('/') ? root : `${root}/`}`)),
  );
  const range = manifest.engines?.node;
  if (typeof range !== 'string') throw new Error('package.json has no engines.node');
  const lines = range.split('||').map((part) => {
    const match = CARET.exec(part.trim());
    if (!match) throw new Error(`engines.node: "${part.trim()}" is not ^MAJOR.MINOR.PATCH`);
    const [major, minor, patch] = match.slice(1).map(Number);
    return { major, minor, patch };
  });
  return { range, lines };
}

/** Whether `version` ("22.15.0", "v24.1.0") falls within one of `lines`. */
export function isSupportedNode(version, lines) {
  const [major, minor, patch] = version.replace(/^v/, '').split('.').map(Number);
  return lines.some(
    (line) => major === line.major && (minor > line.minor || (minor === line.minor && patch >= line.patch)),
  );
}

/**
 * The warning for a Node outside the supported range, or undefined. Not a
 * refusal: Node 20 still runs every test (the CI machine's own Node runs
 * the whole suite), but it is end of life and outside what the OpenTelemetry
 * SDK supports, and a fault seen only there will not be fixed.
 */
export function unsupportedNodeWarning(root, version = process.versions.node) {
  const { range, lines } = supportedNode(root);
  if (isSupportedNode(version, lines)) return undefined;
  return (
    `Node ${version} is outside the supported versions (${range}): it may work, ` +
    'but a fault seen only there will not be fixed (README, "Node versions")'
  );
}
