import { createHash } from 'node:crypto';

/**
 * A key shorter than this is refused at start: 32 random characters of the
 * token alphabet are ~190 bits, beyond guessing, so failed attempts need no
 * counting (which would cost a Redis round trip per wrong key).
 */
export const API_KEY_MIN_LENGTH = 32;
/** Longer keys are refused too, so a presented token longer than this is wrong before it is hashed. */
export const API_KEY_MAX_LENGTH = 256;

/**
 * RFC 6750's b64token: what may follow `Bearer ` in an Authorization header.
 * A key outside it could never be presented, so it is refused at start.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `API_KEYS`: comma-separated, each trimmed; empty items (a trailing comma) are ignored. */
export function splitApiKeys(value: string): string[] {
  return value
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
}

export interface KeyLine {
  /** 1-based, for messages that must name a key without showing it. */
  readonly line: number;
  readonly key: string;
}

/** `API_KEYS_FILE`: one key per line; blank lines and lines starting with `#` are ignored. */
export function parseApiKeysFile(text: string): KeyLine[] {
  return text.split(/\r?\n/).flatMap((raw, index) => {
    const key = raw.trim();
    return key === '' || key.startsWith('#') ? [] : [{ line: index + 1, key }];
  });
}

/**
 * What is wrong with one key, as a phrase that never contains the key (the
 * message goes to logs and terminals), or undefined when it is acceptable.
 */
export function apiKeyProblem(key: string): string | undefined {
  if (key.length < API_KEY_MIN_LENGTH) return `is shorter than ${API_KEY_MIN_LENGTH} characters`;
  if (key.length > API_KEY_MAX_LENGTH) return `is longer than ${API_KEY_MAX_LENGTH} characters`;
  if (!TOKEN_PATTERN.test(key)) return 'has characters outside A-Z a-z 0-9 - . _ ~ + / (and = at the end)';
  return undefined;
}

/**
 * The key's public name: the first 16 hex digits of its SHA-256. It is what a
 * job stores as its owner and what rate counters are named by, so the secret
 * itself is never written to Redis or logs.
 */
export function apiKeyId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}
