// Where a webhook may be sent: the URL rules checked at submission, and the
// address rules checked at submission and again at delivery, after DNS, so a
// client cannot aim foretell at its own network (SSRF).
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Longer URLs are refused: 2048 is what browsers and most proxies reliably carry. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** How long resolving a webhook's host may take before the target is refused. */
export const DEFAULT_WEBHOOK_LOOKUP_TIMEOUT_MS = 5_000;
/** How much of a client's input an error message may quote: enough to recognise, too little to flood a log. */
const QUOTED_INPUT_LENGTH = 100;

export type WebhookUrlResult = { ok: true; url: URL } | { ok: false; error: string };

/** Client input as an error message quotes it: JSON-quoted, at most QUOTED_INPUT_LENGTH characters of it. */
function quoted(text: string): string {
  return JSON.stringify(text.length > QUOTED_INPUT_LENGTH ? `${text.slice(0, QUOTED_INPUT_LENGTH)}…` : text);
}

/**
 * The syntactic rules for a webhook URL, checked at submission. The address
 * rules need DNS: resolveWebhookTarget checks them.
 *
 * A fragment is removed, not refused: it is never sent over HTTP, so the URL
 * without it is the one the receiver sees, and that is the URL kept and shown.
 */
export function parseWebhookUrl(text: unknown): WebhookUrlResult {
  if (typeof text !== 'string') return { ok: false, error: 'webhook must be a string (an https:// or http:// URL).' };
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return { ok: false, error: `webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: `webhook is not an absolute URL: ${quoted(text)}.` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, error: `webhook URL must use https: or http:, not ${quoted(url.protocol)}.` };
  }
  // The WHATWG parser already refuses an empty host for http(s); kept as the contract, not left to a parser detail.
  if (url.hostname === '') return { ok: false, error: 'webhook URL has no host.' };
  // Credentials in a URL end up in logs, records and error messages; a receiver authenticates by the signature.
  if (url.username !== '' || url.password !== '') {
    return { ok: false, error: 'webhook URL must not contain a username or password; verify the signature instead.' };
  }
  if (url.port === '0') return { ok: false, error: 'webhook URL has port 0, which no server listens on.' };
  url.hash = '';
  return { ok: true, url };
}

// Addresses no webhook receiver may have: everything that is not globally
// routable (IANA's special-purpose registries), IPv4 and IPv6.
const NON_PUBLIC_IPV4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, with the cloud metadata service at 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, with the broadcast address 255.255.255.255
];

// IPv6 is judged by an allowlist: only global unicast (2000::/3) can be
// public, less the parts of it below. Unspecified, loopback, unique-local
// (fc00::/7), link-local (fe80::/10), multicast (ff00::/8) and every other
// special block lie outside 2000::/3. The forms that embed an IPv4 address
// are judged by that address first (ipv4Inside).
const GLOBAL_UNICAST_IPV6: readonly (readonly [string, number])[] = [['2000::', 3]];
const NON_PUBLIC_GLOBAL_IPV6: readonly (readonly [string, number])[] = [
  // IETF protocol assignments, among them Teredo (2001::/32), whose tunnels
  // lead anywhere, benchmarking and ORCHID; no webhook receiver lives there.
  ['2001::', 23],
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
];

function blockList(ranges: readonly (readonly [string, number])[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const nonPublicIpv4 = blockList(NON_PUBLIC_IPV4, 'ipv4');
const globalUnicastIpv6 = blockList(GLOBAL_UNICAST_IPV6, 'ipv6');
const nonPublicGlobalIpv6 = blockList(NON_PUBLIC_GLOBAL_IPV6, 'ipv6');

/** An IPv6 address (already valid, per isIP) as its eight 16-bit groups. */
function ipv6Groups(ip: string): number[] {
  // A trailing dotted quad (`::ffff:1.2.3.4`) is the last two groups.
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const hex = dotted
    ? `${dotted[1]}${((Number(dotted[2]) << 8) | Number(dotted[3])).toString(16)}:${((Number(dotted[4]) << 8) | Number(dotted[5])).toString(16)}`
    : ip;
  const [head = '', tail] = hex.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  if (tail === undefined) return parse(head);
  const before = parse(head);
  const after = parse(tail);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function ipv4From(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms
 * that carry one: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d,
 * which includes :: and ::1, judged as 0.0.0.0 and 0.0.0.1), NAT64
 * (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). A packet to one of them may
 * end at that IPv4 address, so that address is the one to judge.
 */
function ipv4Inside(groups: readonly number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zerosTo = (end: number) => groups.slice(0, end).every((group) => group === 0);
  if (zerosTo(5) && (g5 === 0xffff || g5 === 0)) return ipv4From(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return ipv4From(g6, g7);
  if (g0 === 0x2002 && g1 !== undefined && g2 !== undefined) return ipv4From(g1, g2);
  return undefined;
}

/**
 * Whether `ip` (a literal address, as DNS returns it) is globally routable:
 * false for private, loopback, link-local, CGNAT, documentation, benchmarking,
 * multicast and reserved ranges, IPv4 and IPv6, and for anything that is not
 * an IP address at all. An address with a zone (`fe80::1%eth0`) is link-local by
 * construction: false.
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return !nonPublicIpv4.check(ip, 'ipv4');
  if (family !== 6 || ip.includes('%')) return false;
  const embedded = ipv4Inside(ipv6Groups(ip));
  if (embedded !== undefined) return isPublicAddress(embedded);
  return globalUnicastIpv6.check(ip, 'ipv6') && !nonPublicGlobalIpv6.check(ip, 'ipv6');
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** dns.promises.lookup with `{ all: true }`, or a stand-in for it in tests. */
export type LookupAll = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface ResolvedTarget {
  /** The host to name in the Host header and TLS SNI: the URL's, without IPv6 brackets. */
  readonly hostname: string;
  /** Every address the host resolved to, all vetted: the sender connects to these and looks up nothing. */
  readonly addresses: readonly ResolvedAddress[];
}

/** `busy`: the host may be fine, but too many lookups wait already (lookup-gate.ts). */
export type WebhookTargetProblem = 'not-public' | 'lookup-failed' | 'lookup-timeout' | 'busy';

/** A webhook target that may not be used; the message is safe to show the client that sent it. */
export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
  constructor(
    readonly problem: WebhookTargetProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The system's resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
export const systemLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true });

/** `lookup`, or a WebhookTargetError once `timeoutMs` has passed (the lookup itself cannot be cancelled). */
async function lookupWithin(lookup: LookupAll, hostname: string, timeoutMs: number, shown: string) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new WebhookTargetError('lookup-timeout', `webhook host ${shown} did not resolve within ${timeoutMs} ms.`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([lookup(hostname), deadline]);
  } catch (error) {
    if (error instanceof WebhookTargetError) throw error;
    throw new WebhookTargetError('lookup-failed', `webhook host ${shown} could not be resolved.`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves a webhook URL's host and vets every address it gets: one
 * non-public address refuses the target (unless `allowPrivate`), since DNS
 * decides which one a connection would use. A literal IP is vetted without
 * DNS. The addresses returned are the only ones to connect to: looking the
 * name up again would let DNS answer differently the second time (rebinding).
 */
export async function resolveWebhookTarget(
  url: URL,
  options: { allowPrivate: boolean; lookup?: LookupAll; timeoutMs?: number },
): Promise<ResolvedTarget> {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const shown = hostname.length > QUOTED_INPUT_LENGTH ? `${hostname.slice(0, QUOTED_INPUT_LENGTH)}…` : hostname;
  const literal = isIP(hostname);
  const found =
    literal === 0
      ? await lookupWithin(
          options.lookup ?? systemLookup,
          hostname,
          options.timeoutMs ?? DEFAULT_WEBHOOK_LOOKUP_TIMEOUT_MS,
          shown,
        )
      : [{ address: hostname, family: literal }];
  const addresses: ResolvedAddress[] = [];
  for (const { address } of found) {
    // The family is read from the address itself, not taken from the resolver's word.
    const family = isIP(address);
    if (family !== 4 && family !== 6) {
      throw new WebhookTargetError(
        'lookup-failed',
        `webhook host ${shown} resolved to something that is not an address.`,
      );
    }
    if (!options.allowPrivate && !isPublicAddress(address)) {
      const what = literal === 0 ? `resolves to a non-public address (${address})` : 'is not a public address';
      throw new WebhookTargetError('not-public', `webhook host ${shown} ${what}.`);
    }
    addresses.push({ address, family });
  }
  if (addresses.length === 0) {
    throw new WebhookTargetError('lookup-failed', `webhook host ${shown} resolved to no address.`);
  }
  return { hostname, addresses };
}
