import { API_KEY_MAX_LENGTH, TOKEN_PATTERN } from './api-keys.js';

export type BearerCredentials =
  /** No Authorization header, or one of another scheme (RFC 6750 §3: answered without an error code). */
  | { readonly kind: 'none' }
  /** `Bearer` with something that cannot be a key. */
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string };

// "Bearer" is case-insensitive (RFC 7235 §2.1), then one or more spaces and the token.
const BEARER = /^bearer +([^ ]+) *$/i;
const SCHEME = /^bearer(?:[ \t]|$)/i;
/** `Bearer`, spaces and the longest key, with a little slack for surrounding spaces. */
const LONGEST_USEFUL_HEADER = 'Bearer '.length + API_KEY_MAX_LENGTH + 16;

/**
 * Reads `Authorization: Bearer <token>`. Cost is bounded whatever the client
 * sends: a header too long to hold any key is malformed without being parsed.
 */
export function readBearerToken(header: string | undefined): BearerCredentials {
  if (header === undefined || !SCHEME.test(header)) return { kind: 'none' };
  if (header.length > LONGEST_USEFUL_HEADER) return { kind: 'malformed' };
  const token = BEARER.exec(header)?.[1];
  if (token === undefined || !TOKEN_PATTERN.test(token)) return { kind: 'malformed' };
  return { kind: 'token', token };
}
