import { WebhookTargetError, type LookupAll } from './webhook-target.js';

/**
 * The system resolver (`dns.lookup`, getaddrinfo) runs on libuv's threadpool,
 * four threads unless UV_THREADPOOL_SIZE says otherwise, which the process
 * shares with file reads and crypto. A lookup cannot be cancelled: a host
 * whose name server never answers holds its thread for the resolver's own
 * timeout, however soon we stop waiting. So that clients who name such hosts
 * cannot take every thread, lookups get at most half of the pool.
 */
export function lookupConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  const threads = Number.isInteger(size) && size > 0 ? size : 4;
  return Math.max(1, Math.floor(threads / 2));
}

export interface LookupGateOptions {
  /** Lookups running at once (threads they may hold): lookupConcurrency() by default. */
  readonly concurrency?: number;
  /** Lookups waiting for a thread; past it a lookup is refused at once (`busy`). */
  readonly maxWaiting: number;
}

export interface LookupGate {
  readonly lookup: LookupAll;
  /** Lookups holding a thread now, including those no caller waits for any more. */
  running(): number;
  waiting(): number;
}

/**
 * A resolver with a bound on the threads it holds and on the callers that
 * queue for them. Callers asking for a name already being looked up share
 * that lookup (most webhooks name a few hosts): only distinct names cost a
 * thread. A thread is given back when the lookup itself ends, not when a
 * caller gives up on it (lookupWithin's deadline), since only then is it free.
 * A refusal is a WebhookTargetError `busy`: nothing is wrong with the host.
 */
export function createLookupGate(resolve: LookupAll, options: LookupGateOptions): LookupGate {
  const concurrency = options.concurrency ?? lookupConcurrency();
  const inFlight = new Map<string, ReturnType<LookupAll>>();
  const queue: (() => void)[] = [];
  let running = 0;

  // A slot passes straight to the next waiter, so that no caller arriving in between can take it too.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running -= 1;
  };

  async function run(hostname: string): ReturnType<LookupAll> {
    if (running < concurrency) running += 1;
    else {
      if (queue.length >= options.maxWaiting) {
        throw new WebhookTargetError('busy', 'too many webhook hosts are being looked up; retry later.');
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    try {
      return await resolve(hostname);
    } finally {
      release();
    }
  }

  return {
    lookup(hostname) {
      const shared = inFlight.get(hostname);
      if (shared) return shared;
      const started = run(hostname);
      inFlight.set(hostname, started);
      // Shared only while it runs: the next caller after it gets a fresh answer (DNS may change).
      const forget = () => {
        if (inFlight.get(hostname) === started) inFlight.delete(hostname);
      };
      started.then(forget, forget);
      return started;
    },
    running: () => running,
    waiting: () => queue.length,
  };
}
