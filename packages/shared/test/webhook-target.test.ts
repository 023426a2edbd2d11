import { describe, expect, it } from 'vitest';
import {
  isPublicAddress,
  MAX_WEBHOOK_URL_LENGTH,
  parseWebhookUrl,
  resolveWebhookTarget,
  WebhookTargetError,
  type LookupAll,
} from '../src/webhooks/webhook-target.js';

/** A stand-in for DNS: each name answers with its addresses; any other name fails as DNS does. */
function fakeDns(records: Record<string, string[]>): LookupAll {
  return async (hostname) => {
    const addresses = records[hostname];
    if (addresses === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<WebhookTargetError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WebhookTargetError);
  return error as WebhookTargetError;
}

describe('parseWebhookUrl', () => {
  it.each([
    ['https://hooks.example.com/foretell', 'https://hooks.example.com/foretell'],
    ['http://hooks.example.com:8080/a?b=c', 'http://hooks.example.com:8080/a?b=c'],
    ['HTTPS://Hooks.Example.COM', 'https://hooks.example.com/'],
    ['https://[2606:4700::1111]/hook', 'https://[2606:4700::1111]/hook'],
    // The fragment is never sent; the URL kept is the one the receiver sees.
    ['https://hooks.example.com/x#section', 'https://hooks.example.com/x'],
    // Numeric IPv4 forms come out dotted, so the address rules see the real address.
    ['http://2130706433/', 'http://127.0.0.1/'],
  ])('accepts %s as %s', (text, href) => {
    const result = parseWebhookUrl(text);
    expect(result).toEqual({ ok: true, url: new URL(href) });
  });

  it('accepts a URL of exactly the maximum length', () => {
    const base = 'https://hooks.example.com/';
    const text = base + 'a'.repeat(MAX_WEBHOOK_URL_LENGTH - base.length);
    expect(parseWebhookUrl(text).ok).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['a number', 42, /must be a string/],
    ['null', null, /must be a string/],
    ['an empty string', '', /not an absolute URL/],
    ['a relative URL', '/hooks/foretell', /not an absolute URL/],
    ['a host without a scheme', 'hooks.example.com/x', /not an absolute URL/],
    ['an ftp URL', 'ftp://hooks.example.com/x', /must use https: or http:, not "ftp:"/],
    ['a javascript: URL', 'javascript:alert(1)', /must use https: or http:/],
    ['a file URL', 'file:///etc/passwd', /must use https: or http:/],
    ['a URL without a host', 'https://', /not an absolute URL/],
    ['a username', 'https://user@hooks.example.com/', /must not contain a username or password/],
    ['a username and password', 'https://user:hunter2@hooks.example.com/', /must not contain a username or password/],
    ['port 0', 'https://hooks.example.com:0/', /port 0/],
    ['a port out of range', 'https://hooks.example.com:70000/', /not an absolute URL/],
    ['a space in the host', 'https://hooks example.com/', /not an absolute URL/],
    [
      'a URL one character too long',
      `https://hooks.example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`,
      /longer than 2048/,
    ],
  ])('refuses %s', (_, input, message) => {
    const result = parseWebhookUrl(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it('never echoes more than about 100 characters of the input, nor the password', () => {
    const long = `not a url ${'x'.repeat(1000)}`;
    const result = parseWebhookUrl(long);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.length).toBeLessThan(160);
    const withPassword = parseWebhookUrl('https://user:hunter2@hooks.example.com/');
    expect(JSON.stringify(withPassword)).not.toContain('hunter2');
  });
});

describe('isPublicAddress', () => {
  it.each([
    // IPv4: each non-public range, at both edges where its neighbours are public.
    ['0.0.0.0'],
    ['0.255.255.255'],
    ['10.0.0.0'],
    ['10.255.255.255'],
    ['100.64.0.0'],
    ['100.127.255.255'],
    ['127.0.0.1'],
    ['127.255.255.255'],
    ['169.254.0.0'],
    ['169.254.169.254'],
    ['169.254.255.255'],
    ['172.16.0.0'],
    ['172.31.255.255'],
    ['192.0.0.0'],
    ['192.0.0.255'],
    ['192.0.2.0'],
    ['192.0.2.255'],
    ['192.168.0.0'],
    ['192.168.255.255'],
    ['198.18.0.0'],
    ['198.19.255.255'],
    ['198.51.100.7'],
    ['203.0.113.7'],
    ['224.0.0.1'],
    ['239.255.255.255'],
    ['240.0.0.0'],
    ['255.255.255.255'],
    // IPv6 ranges of its own.
    ['::'],
    ['::1'],
    ['fc00::1'],
    ['fdff:ffff::1'],
    ['fe80::1'],
    ['febf:ffff::1'],
    ['fe80::1%eth0'],
    ['ff02::1'],
    ['ff0e::1'],
    ['2001:db8::1'],
    ['2001:db8:ffff::1'],
    ['2001::1'], // Teredo
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2'], // Teredo, with a public server and client inside
    ['3fff::1'],
    ['100::1'], // discard-only
    ['64:ff9b:1::1'], // local-use NAT64
    // IPv6 forms that carry a non-public IPv4 address.
    ['::ffff:127.0.0.1'],
    ['::ffff:7f00:1'],
    ['::ffff:10.0.0.5'],
    ['::ffff:169.254.169.254'],
    ['::127.0.0.1'],
    ['64:ff9b::10.0.0.1'],
    ['64:ff9b::a9fe:a9fe'],
    ['2002:7f00:1::'], // 6to4 of 127.0.0.1
    ['2002:c0a8:101::1'], // 6to4 of 192.168.1.1
    // Not addresses at all.
    ['localhost'],
    ['1.2.3'],
    ['256.1.1.1'],
    [''],
  ])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['9.255.255.255'],
    ['11.0.0.0'],
    ['100.63.255.255'],
    ['100.128.0.0'],
    ['126.255.255.255'],
    ['128.0.0.0'],
    ['169.253.255.255'],
    ['169.255.0.0'],
    ['172.15.255.255'],
    ['172.32.0.0'],
    ['192.0.1.0'],
    ['192.0.3.0'],
    ['192.167.255.255'],
    ['192.169.0.0'],
    ['198.17.255.255'],
    ['198.20.0.0'],
    ['223.255.255.255'],
    ['2606:4700::1111'],
    ['2a00:1450:4001:82a::200e'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::808:808'],
    ['2002:808:808::1'], // 6to4 of 8.8.8.8
  ])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('resolveWebhookTarget', () => {
  const dns = fakeDns({
    'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'example.internal': ['10.0.0.5'],
    'mixed.example.com': ['93.184.215.14', '169.254.169.254'],
    'localhost.example.com': ['127.0.0.1', '::1'],
    'nothing.example.com': [],
  });

  it('returns every address of a public name, without the URL brackets or port', async () => {
    const target = await resolveWebhookTarget(new URL('https://hooks.example.com:8443/x'), {
      allowPrivate: false,
      lookup: dns,
    });
    expect(target).toEqual({
      hostname: 'hooks.example.com',
      addresses: [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
    });
  });

  it('refuses a name that resolves to a private address, naming the host and the address', async () => {
    const error = await rejection(
      resolveWebhookTarget(new URL('https://example.internal/'), { allowPrivate: false, lookup: dns }),
    );
    expect(error.problem).toBe('not-public');
    expect(error.message).toBe('webhook host example.internal resolves to a non-public address (10.0.0.5).');
  });

  it('refuses a name with one private address among public ones', async () => {
    const error = await rejection(
      resolveWebhookTarget(new URL('https://mixed.example.com/'), { allowPrivate: false, lookup: dns }),
    );
    expect(error.message).toContain('(169.254.169.254)');
  });

  it.each([['http://127.0.0.1/'], ['http://[::1]/'], ['http://[::ffff:a9fe:a9fe]/'], ['http://0x7f.1/']])(
    'refuses the literal address %s without a lookup',
    async (text) => {
      const lookup: LookupAll = () => Promise.reject(new Error('no lookup expected'));
      const error = await rejection(resolveWebhookTarget(new URL(text), { allowPrivate: false, lookup }));
      expect(error.problem).toBe('not-public');
      expect(error.message).toMatch(/is not a public address\.$/);
    },
  );

  it('accepts a public literal address without a lookup', async () => {
    const lookup: LookupAll = () => Promise.reject(new Error('no lookup expected'));
    const target = await resolveWebhookTarget(new URL('https://[2606:4700::1111]/'), { allowPrivate: false, lookup });
    expect(target).toEqual({ hostname: '2606:4700::1111', addresses: [{ address: '2606:4700::1111', family: 6 }] });
  });

  it('refuses a name that does not resolve, keeping the cause', async () => {
    const error = await rejection(
      resolveWebhookTarget(new URL('https://nowhere.example.com/'), { allowPrivate: false, lookup: dns }),
    );
    expect(error.problem).toBe('lookup-failed');
    expect(error.message).toBe('webhook host nowhere.example.com could not be resolved.');
    expect((error.cause as Error).message).toContain('ENOTFOUND');
  });

  it('refuses a name that resolves to no address', async () => {
    const error = await rejection(
      resolveWebhookTarget(new URL('https://nothing.example.com/'), { allowPrivate: false, lookup: dns }),
    );
    expect(error.problem).toBe('lookup-failed');
  });

  it('refuses a name whose lookup does not answer in time', async () => {
    const started = performance.now();
    const hanging: LookupAll = () => new Promise(() => {});
    const error = await rejection(
      resolveWebhookTarget(new URL('https://slow.example.com/'), {
        allowPrivate: false,
        lookup: hanging,
        timeoutMs: 50,
      }),
    );
    expect(error.problem).toBe('lookup-timeout');
    expect(error.message).toBe('webhook host slow.example.com did not resolve within 50 ms.');
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('accepts loopback and private addresses when allowPrivate is set', async () => {
    const target = await resolveWebhookTarget(new URL('http://localhost.example.com:3000/'), {
      allowPrivate: true,
      lookup: dns,
    });
    expect(target.addresses).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    const literal = await resolveWebhookTarget(new URL('http://10.1.2.3/'), { allowPrivate: true });
    expect(literal.addresses).toEqual([{ address: '10.1.2.3', family: 4 }]);
  });

  it('still refuses a failed lookup when allowPrivate is set', async () => {
    const error = await rejection(
      resolveWebhookTarget(new URL('https://nowhere.example.com/'), { allowPrivate: true, lookup: dns }),
    );
    expect(error.problem).toBe('lookup-failed');
  });

  it('resolves with the system resolver by default (localhost, allowed as private)', async () => {
    const target = await resolveWebhookTarget(new URL('http://localhost/'), { allowPrivate: true });
    expect(target.addresses.length).toBeGreaterThan(0);
    for (const { address } of target.addresses) expect(isPublicAddress(address)).toBe(false);
    await expect(resolveWebhookTarget(new URL('http://localhost/'), { allowPrivate: false })).rejects.toThrow(
      /webhook host localhost resolves to a non-public address/,
    );
  });

  it('shortens a long host name in its message', async () => {
    const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`;
    const error = await rejection(
      resolveWebhookTarget(new URL(`https://${host}/`), { allowPrivate: false, lookup: dns }),
    );
    expect(error.message.length).toBeLessThan(160);
  });
});
