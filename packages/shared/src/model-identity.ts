import { createHash } from 'node:crypto';

/**
 * Which model computed a job, as a finished job's hash records it: not the
 * name and version themselves (up to 201 bytes in every hash, kept for a day)
 * but a fixed 8-character reference to them, resolved through the hash
 * `redisKeys().models` (ref → "name version"). The reference is derived from
 * the name and version, so every process computes the same one without
 * asking anyone, and a registry that was deleted is written again by the next
 * finished job.
 */
export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
}

/** A model's name and version; undefined for a bare model (the apps' tests build some). */
export function identityOf(model: { readonly name?: string; readonly version?: string }): ModelIdentity | undefined {
  return model.name === undefined || model.version === undefined
    ? undefined
    : { name: model.name, version: model.version };
}

/** `^[0-9a-f]{8}$`: 32 bits of SHA-256; two models of one deployment meet with odds of ~1 in 10⁹ per pair. */
export const MODEL_REF_PATTERN = '^[0-9a-f]{8}$';

export function modelRef({ name, version }: ModelIdentity): string {
  return createHash('sha256').update(modelLabel({ name, version })).digest('hex').slice(0, 8);
}

/** What the registry stores for a ref: name and version, which never contain a space (model-loader.ts checks). */
export function modelLabel({ name, version }: ModelIdentity): string {
  return `${name} ${version}`;
}

/** The inverse of modelLabel; undefined for a value foretell did not write. */
export function parseModelLabel(label: string): ModelIdentity | undefined {
  const match = /^([!-~]{1,100}) ([!-~]{1,100})$/.exec(label);
  return match ? { name: match[1] as string, version: match[2] as string } : undefined;
}
