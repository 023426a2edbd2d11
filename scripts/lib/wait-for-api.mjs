// When `npm start` may say "API on …": once the API listens, known from its
// "Server listening at" log line or, when LOG_LEVEL hides that line, from
// GET /health answering.
import { setTimeout as sleep } from 'node:timers/promises';

const HEALTH_POLL_MS = 200;
const HEALTH_TIMEOUT_MS = 1000;

/** The address to ask: the one it listens on, or this machine's loopback for a wildcard. */
function connectHost(host) {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function healthAnswers(url, signal) {
  try {
    const response = await fetch(`${url}/health`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)]),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false; // not listening yet
  }
}

/**
 * Resolves with the API's URL once it listens: `logged` resolves with it
 * when the API logs that it listens; meanwhile /health is polled (unless
 * `port` is 0, which only the log line can tell). Gives up, resolving
 * undefined, when `signal` aborts.
 */
export async function waitForApi(logged, { host, port }, signal) {
  const done = new AbortController();
  const giveUp = AbortSignal.any([signal, done.signal]);
  const polled = async () => {
    if (port === 0) return new Promise(() => undefined);
    const url = `http://${connectHost(host)}:${port}`;
    while (!giveUp.aborted) {
      if (await healthAnswers(url, giveUp)) return url;
      await sleep(HEALTH_POLL_MS, undefined, { signal: giveUp }).catch(() => undefined);
    }
    return undefined;
  };
  const stopped = new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  try {
    return await Promise.race([logged, polled(), stopped]);
  } finally {
    done.abort();
  }
}
