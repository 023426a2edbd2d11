// A module resolution hook (node:module register()) for model modules kept
// outside the repository: `import { NonRetryableError } from '@foretell/shared'`
// in /opt/models/my-model.mjs finds no node_modules with foretell in it.
// Resolution is tried as usual first (a model's own installed copy wins), and
// only a miss falls back to the package of the process that loads the model.

interface HookData {
  /** URL of this package's entry (dist/index.js). */
  readonly shared: string;
}

interface ResolveResult {
  readonly url: string;
  readonly shortCircuit?: boolean;
}

type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

let shared = '';

export function initialize(data: HookData): void {
  shared = data.shared;
}

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<ResolveResult> {
  if (specifier !== '@foretell/shared') return next(specifier, context);
  try {
    return await next(specifier, context);
  } catch {
    return { url: shared, shortCircuit: true };
  }
}
