import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiKeyId } from '../src/auth/api-keys.js';
import { readBearerToken } from '../src/auth/bearer-token.js';
import { createKeyRing } from '../src/auth/key-ring.js';

// Counts the comparisons the key ring makes, to check its contract: every key is compared, match or not.
const compared = vi.hoisted(() => ({ calls: [] as [number, number][] }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof crypto>();
  return {
    ...original,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.calls.push([a.byteLength, b.byteLength]);
      return original.timingSafeEqual(a, b);
    },
  };
});

const KEYS = ['k1'.repeat(16), 'k2'.repeat(16), 'k3'.repeat(16), `${'k4'.repeat(16)}=`];

describe('the key ring', () => {
  beforeEach(() => {
    compared.calls = [];
  });

  it('identifies each key by its id, whichever position it has', () => {
    const ring = createKeyRing(KEYS);
    expect(ring.size).toBe(4);
    for (const key of KEYS) expect(ring.identify(key)).toBe(apiKeyId(key));
  });

  it('identifies nothing else: a prefix, an extension, another case, an empty or a very long token', () => {
    const ring = createKeyRing(KEYS);
    const first = KEYS[0] ?? '';
    for (const token of [first.slice(0, -1), `${first}x`, first.toUpperCase(), '', 'k'.repeat(10_000)]) {
      expect(ring.identify(token), token.slice(0, 40)).toBeUndefined();
    }
  });

  it('compares the token with every key, 32 bytes each, whether it matches the first, the last or none', () => {
    const ring = createKeyRing(KEYS);
    for (const token of [KEYS[0] ?? '', KEYS[3] ?? '', 'n'.repeat(40), 'n'.repeat(256)]) {
      compared.calls = [];
      ring.identify(token);
      expect(compared.calls, token).toEqual(KEYS.map(() => [32, 32]));
    }
  });

  it('refuses a token longer than any key before hashing or comparing it', () => {
    const ring = createKeyRing(KEYS);
    expect(ring.identify('x'.repeat(257))).toBeUndefined();
    expect(compared.calls).toEqual([]);
  });

  it('holds a key given twice once', () => {
    expect(createKeyRing([...KEYS, KEYS[1] ?? '']).size).toBe(4);
  });
});

describe('readBearerToken', () => {
  const key = 'k1'.repeat(16);

  it.each([
    [`Bearer ${key}`, key],
    [`bearer ${key}`, key],
    [`BEARER   ${key}  `, key],
    ['Bearer abc+/def~ghi.jkl_mno-==', 'abc+/def~ghi.jkl_mno-=='],
  ])('reads the token of %j', (header, token) => {
    expect(readBearerToken(header)).toEqual({ kind: 'token', token });
  });

  it.each([[undefined], [''], [`Basic ${key}`], [`Bearer${key}`], ['Token x'], ['Digest username="x"']])(
    'sees no bearer credentials in %j',
    (header) => {
      expect(readBearerToken(header)).toEqual({ kind: 'none' });
    },
  );

  it.each([
    ['Bearer'],
    ['Bearer '],
    [`Bearer ${key} extra`],
    [`Bearer\t${key}`],
    ['Bearer a=b'],
    ['Bearer "quoted"'],
    ['Bearer ключ'],
    ['Bearer \u00e9\u00e9\u00e9'],
    [`Bearer ${'x'.repeat(8 * 1024)}`],
    [`Bearer ${' '.repeat(8 * 1024)}x`],
  ])('finds %j malformed', (header) => {
    expect(readBearerToken(header)).toEqual({ kind: 'malformed' });
  });
});
