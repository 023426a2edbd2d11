import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@foretell/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadApiKeys } from '../src/auth/access-config.js';
import { apiKeyId, parseApiKeysFile, splitApiKeys } from '../src/auth/api-keys.js';
import { loadApiConfig } from '../src/config.js';

const KEY_A = 'a'.repeat(24) + 'Secret-A';
const KEY_B = 'b'.repeat(24) + 'Secret/B';

/** The ConfigError `run` throws: its problems, and its whole message for the never-echo checks. */
function configError(run: () => unknown): { problems: readonly string[]; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems, message: error.message };
    throw error;
  }
  throw new Error('no ConfigError was thrown');
}

describe('API key variables', () => {
  it('leave the API open and every limit off by default', () => {
    const config = loadApiConfig({});
    expect(config).toMatchObject({
      API_KEYS: '',
      API_KEYS_FILE: '',
      RATE_LIMIT_PER_MINUTE: 0,
      MAX_JOBS_PER_KEY: 0,
      DOCS_PUBLIC: 'true',
    });
    expect(loadApiKeys(config)).toEqual([]);
  });

  it('read comma-separated keys, trimmed, ignoring empty items', () => {
    const config = loadApiConfig({ API_KEYS: ` ${KEY_A} ,${KEY_B},`, RATE_LIMIT_PER_MINUTE: '60' });
    expect(loadApiKeys(config)).toEqual([KEY_A, KEY_B]);
    expect(config.RATE_LIMIT_PER_MINUTE).toBe(60);
  });

  it('refuse short keys, long keys and keys a Bearer header cannot carry, naming their position and never the key', () => {
    const short = 'short-secret-123';
    const long = 'L'.repeat(257);
    const spaced = 'x'.repeat(20) + ' with a space inside';
    const unicode = 'é'.repeat(40);
    const { problems, message } = configError(() =>
      loadApiConfig({ API_KEYS: [short, KEY_A, long, spaced, unicode].join(',') }),
    );
    expect(problems).toEqual([
      'API_KEYS: key 1 of 5 is shorter than 32 characters',
      'API_KEYS: key 3 of 5 is longer than 256 characters',
      'API_KEYS: key 4 of 5 has characters outside A-Z a-z 0-9 - . _ ~ + / (and = at the end)',
      'API_KEYS: key 5 of 5 has characters outside A-Z a-z 0-9 - . _ ~ + / (and = at the end)',
    ]);
    for (const secret of [short, KEY_A, long, spaced, unicode]) expect(message).not.toContain(secret);
  });

  it('accept a key of exactly 32 and of exactly 256 characters, with base64 padding', () => {
    const keys = ['k'.repeat(32), `${'K'.repeat(254)}==`];
    expect(loadApiKeys(loadApiConfig({ API_KEYS: keys.join(',') }))).toEqual(keys);
  });

  it('refuse a list of nothing but commas, both sources at once, and limits or private docs without keys', () => {
    expect(configError(() => loadApiConfig({ API_KEYS: ' , ,' })).problems).toEqual([
      'API_KEYS: has no key (comma-separated keys expected)',
    ]);
    expect(configError(() => loadApiConfig({ API_KEYS: KEY_A, API_KEYS_FILE: '/etc/keys' })).problems).toEqual([
      'API_KEYS_FILE: set either API_KEYS or API_KEYS_FILE, not both',
    ]);
    expect(
      configError(() => loadApiConfig({ RATE_LIMIT_PER_MINUTE: '10', MAX_JOBS_PER_KEY: '5', DOCS_PUBLIC: 'false' }))
        .problems,
    ).toEqual([
      'RATE_LIMIT_PER_MINUTE: is a limit per API key; set API_KEYS or API_KEYS_FILE too',
      'MAX_JOBS_PER_KEY: is a limit per API key; set API_KEYS or API_KEYS_FILE too',
      'DOCS_PUBLIC: false needs API_KEYS or API_KEYS_FILE',
    ]);
  });

  it('bound the limits and spell DOCS_PUBLIC as true or false', () => {
    const { problems } = configError(() =>
      loadApiConfig({
        API_KEYS: KEY_A,
        RATE_LIMIT_PER_MINUTE: '1000001',
        MAX_JOBS_PER_KEY: '-1',
        DOCS_PUBLIC: 'no',
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^RATE_LIMIT_PER_MINUTE: .*1000000/),
      expect.stringMatching(/^MAX_JOBS_PER_KEY: .*0/),
      'DOCS_PUBLIC: must be one of: true, false (got "no")',
    ]);
  });
});

describe('API_KEYS_FILE', () => {
  let dir: string | undefined;
  const file = (name: string, text: string): string => {
    if (!dir) throw new Error('no temporary folder');
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'foretell-keys-'));
  });

  afterEach(() => {
    const own = dir;
    dir = undefined;
    if (own) rmSync(own, { recursive: true, force: true });
  });

  it('holds one key per line; blank lines, surrounding spaces, CRLF and # comments are ignored', () => {
    const path = file('keys', `# clients of team A\r\n\r\n  ${KEY_A}  \r\n# ${'c'.repeat(40)}\n${KEY_B}\n\n`);
    const config = loadApiConfig({ API_KEYS_FILE: path, MAX_JOBS_PER_KEY: '3', DOCS_PUBLIC: 'false' });
    expect(loadApiKeys(config)).toEqual([KEY_A, KEY_B]);
  });

  it('names the line of a bad key, never the key', () => {
    const path = file('keys', `${KEY_A}\n# ok\nshort-one\n`);
    const { problems, message } = configError(() => loadApiKeys(loadApiConfig({ API_KEYS_FILE: path })));
    expect(problems).toEqual(['API_KEYS_FILE: the key on line 3 is shorter than 32 characters']);
    expect(message).not.toContain('short-one');
    expect(message).not.toContain(KEY_A);
  });

  it('refuses a file with no key, and one that cannot be read', () => {
    const empty = file('empty', '# nothing yet\n\n');
    expect(configError(() => loadApiKeys(loadApiConfig({ API_KEYS_FILE: empty }))).problems).toEqual([
      'API_KEYS_FILE: has no key (one per line; # starts a comment)',
    ]);
    const missing = join(dir ?? '', 'missing');
    expect(configError(() => loadApiKeys(loadApiConfig({ API_KEYS_FILE: missing }))).problems).toEqual([
      `API_KEYS_FILE: cannot read ${JSON.stringify(missing)} (ENOENT)`,
    ]);
  });
});

describe('key parsing helpers', () => {
  it('split and parse as documented', () => {
    expect(splitApiKeys('')).toEqual([]);
    expect(splitApiKeys('a, b ,,c')).toEqual(['a', 'b', 'c']);
    expect(parseApiKeysFile('x\n  # y\n\nz')).toEqual([
      { line: 1, key: 'x' },
      { line: 4, key: 'z' },
    ]);
  });

  it('names a key by the first 16 hex digits of its SHA-256', () => {
    expect(apiKeyId(KEY_A)).toMatch(/^[0-9a-f]{16}$/);
    expect(apiKeyId(KEY_A)).not.toBe(apiKeyId(KEY_B));
    // FIPS 180-2's test vector: SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…
    expect(apiKeyId('abc')).toBe('ba7816bf8f01cfea');
  });
});
