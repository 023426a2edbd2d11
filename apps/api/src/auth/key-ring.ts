import { createHash, timingSafeEqual } from 'node:crypto';
import { API_KEY_MAX_LENGTH, apiKeyId } from './api-keys.js';

export interface KeyRing {
  /** How many distinct keys it holds. */
  readonly size: number;
  /** The id of the key `token` is, or undefined when it is none of them. */
  identify(token: string): string | undefined;
}

interface Entry {
  readonly digest: Buffer;
  readonly id: string;
}

function digestOf(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The configured keys, compared in constant time: the presented token is
 * hashed (so every comparison is of 32 bytes, whatever its length) and
 * compared with every key's hash, without stopping at a match, so the time
 * taken tells neither which key matched nor how much of one did.
 */
export function createKeyRing(secrets: readonly string[]): KeyRing {
  const byId = new Map<string, Entry>();
  for (const secret of secrets) {
    const id = apiKeyId(secret);
    byId.set(id, { digest: digestOf(secret), id });
  }
  const entries = [...byId.values()];

  return {
    size: entries.length,
    identify(token) {
      // No key is this long: refused before hashing (the bound is public, documented).
      if (token.length > API_KEY_MAX_LENGTH) return undefined;
      const presented = digestOf(token);
      let found: string | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(presented, entry.digest)) found = entry.id;
      }
      return found;
    },
  };
}
