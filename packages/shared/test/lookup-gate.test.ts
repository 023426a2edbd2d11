// The bound on webhook host lookups (lookup-gate.ts): threads held, callers
// queued, lookups shared, and a thread given back only when its lookup ends.
import { describe, expect, it } from 'vitest';
import {
  createLookupGate,
  lookupConcurrency,
  resolveWebhookTarget,
  WebhookTargetError,
  type LookupAll,
} from '../src/index.js';

/** A resolver whose lookups end when the test says: each call waits under its hostname. */
function heldResolver() {
  const held = new Map<string, () => void>();
  const calls: string[] = [];
  const lookup: LookupAll = (hostname) => {
    calls.push(hostname);
    return new Promise((resolve) => held.set(hostname, () => resolve([{ address: '93.184.215.14', family: 4 }])));
  };
  const answer = (hostname: string) => {
    const release = held.get(hostname);
    if (!release) throw new Error(`no lookup of ${hostname} is running`);
    held.delete(hostname);
    release();
  };
  return { lookup, calls, answer, running: () => [...held.keys()] };
}

/** Lets every promise callback that is ready run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createLookupGate', () => {
  it('runs at most `concurrency` lookups, queues up to `maxWaiting`, and refuses the next as busy', async () => {
    const dns = heldResolver();
    const gate = createLookupGate(dns.lookup, { concurrency: 2, maxWaiting: 3 });
    const results = ['a', 'b', 'c', 'd', 'e'].map((host) => gate.lookup(host));
    await settle();
    expect(dns.calls).toEqual(['a', 'b']);
    expect([gate.running(), gate.waiting()]).toEqual([2, 3]);
    await expect(gate.lookup('f')).rejects.toMatchObject({ name: 'WebhookTargetError', problem: 'busy' });

    // Each lookup that ends hands its thread to the first in line, never to two.
    dns.answer('a');
    await settle();
    expect(dns.calls).toEqual(['a', 'b', 'c']);
    expect([gate.running(), gate.waiting()]).toEqual([2, 2]);
    for (const host of ['b', 'c', 'd', 'e']) {
      dns.answer(host);
      await settle();
      expect(gate.running()).toBeLessThanOrEqual(2);
    }
    expect(await Promise.all(results)).toHaveLength(5);
    expect([gate.running(), gate.waiting()]).toEqual([0, 0]);
  });

  it('shares a running lookup among the callers of the same host, and looks it up afresh once it ended', async () => {
    const dns = heldResolver();
    const gate = createLookupGate(dns.lookup, { concurrency: 1, maxWaiting: 0 });
    const first = gate.lookup('hooks.example.com');
    const second = gate.lookup('hooks.example.com');
    // The thread is taken and nobody may wait, yet the same host is not refused: it costs nothing more.
    await expect(gate.lookup('other.example.com')).rejects.toBeInstanceOf(WebhookTargetError);
    dns.answer('hooks.example.com');
    expect(await second).toBe(await first);
    expect(dns.calls).toEqual(['hooks.example.com']);
    const third = gate.lookup('hooks.example.com');
    dns.answer('hooks.example.com');
    await third;
    expect(dns.calls).toEqual(['hooks.example.com', 'hooks.example.com']);
  });

  it('keeps the thread of a lookup its caller gave up on (lookupWithin) until the lookup ends', async () => {
    const dns = heldResolver();
    const gate = createLookupGate(dns.lookup, { concurrency: 1, maxWaiting: 0 });
    const url = new URL('https://stuck.example.com/hook');
    await expect(
      resolveWebhookTarget(url, { allowPrivate: false, lookup: gate.lookup, timeoutMs: 20 }),
    ).rejects.toMatchObject({
      problem: 'lookup-timeout',
    });
    expect(gate.running()).toBe(1);
    const refused = resolveWebhookTarget(new URL('https://next.example.com/'), {
      allowPrivate: false,
      lookup: gate.lookup,
    });
    await expect(refused).rejects.toMatchObject({ problem: 'busy' });
    dns.answer('stuck.example.com');
    await settle();
    expect(gate.running()).toBe(0);
  });

  it('gives back the thread of a lookup that failed', async () => {
    const gate = createLookupGate(() => Promise.reject(new Error('getaddrinfo ENOTFOUND')), {
      concurrency: 1,
      maxWaiting: 0,
    });
    await expect(gate.lookup('nowhere.example.com')).rejects.toThrow('ENOTFOUND');
    await expect(gate.lookup('nowhere.example.com')).rejects.toThrow('ENOTFOUND');
    expect(gate.running()).toBe(0);
  });
});

describe('lookupConcurrency', () => {
  it("is half of libuv's threadpool, at least one", () => {
    expect(lookupConcurrency({})).toBe(2);
    expect(lookupConcurrency({ UV_THREADPOOL_SIZE: '16' })).toBe(8);
    expect(lookupConcurrency({ UV_THREADPOOL_SIZE: '1' })).toBe(1);
    expect(lookupConcurrency({ UV_THREADPOOL_SIZE: 'lots' })).toBe(2);
    expect(lookupConcurrency({ UV_THREADPOOL_SIZE: '0' })).toBe(2);
  });
});
