import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { FORETELL_VERSION } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { modelGate, type ModelGate } from '../fixtures/e2e-model-gate.js';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { fetchClient, type PredictClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// Hostile and unlucky clients against the real API process: uploads that stop
// before their last byte, more sockets than the server allows, and a stalled
// upload open when the process is told to stop.

let prefix: string;
let redis: Redis;
let gate: ModelGate;
const started: AppProcess[] = [];
const sockets: Socket[] = [];

beforeEach(() => {
  prefix = `e2e-slow-${randomUUID().slice(0, 8)}`;
  redis = new Redis(inject('redisUrl'));
  gate = modelGate(redis, prefix, inject('redisUrl'));
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(started.splice(0).map((app) => app.kill()));
  const found = await redis.keys(`${prefix}:*`);
  if (found.length > 0) await redis.del(...found);
  await redis.quit();
});

interface Api {
  readonly api: AppProcess;
  readonly port: number;
  readonly client: PredictClient;
}

async function startApi(env: Record<string, string>): Promise<Api> {
  const port = await freePort();
  const api = startApp('api', {
    REDIS_URL: inject('redisUrl'),
    KEY_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    ...env,
  });
  started.push(api);
  const client = fetchClient(`http://127.0.0.1:${port}`);
  await waitForApi(`http://127.0.0.1:${port}`, '/health', api.assertRunning);
  return { api, port, client };
}

/** A raw client socket and what happened to it. */
interface Watched {
  readonly socket: Socket;
  /** Everything the server sent. */
  received: string;
  /** Milliseconds from the connect call to the close, once closed. */
  lifetimeMs: number | undefined;
  /** The request bytes were handed to the kernel. */
  written: boolean;
}

/** Opens a socket that sends `bytes` and then goes silent, recording what it receives and when it closes. */
function stalledClient(port: number, bytes: string): Watched {
  const openedAt = performance.now();
  const socket = connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  const watched: Watched = { socket, received: '', lifetimeMs: undefined, written: false };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    watched.received += chunk;
  });
  // A reset is one way for the server to close it: the close is what counts.
  socket.on('error', () => undefined);
  socket.once('close', () => {
    watched.lifetimeMs = performance.now() - openedAt;
  });
  socket.write(bytes, () => {
    watched.written = true;
  });
  return watched;
}

/** The headers of a JSON POST /predict announcing `length` bytes, and all but the last byte of its body. */
function uploadAllButLastByte(length: number): string {
  const body = `{"input":"${'a'.repeat(length - 12)}"}`;
  return (
    'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${body.length}\r\n\r\n${body.slice(0, -1)}`
  );
}

function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

const REQUEST_TIMEOUT_BODY = '{"error":"The request did not arrive in time.","code":"REQUEST_TIMEOUT"}';

describe('slow uploads', () => {
  it('hundreds of stalled uploads are answered 408 and closed at REQUEST_TIMEOUT_MS; memory stays bounded; /health answers meanwhile', async () => {
    const STALLED = 200;
    const BODY_LIMIT = 256 * 1024;
    const REQUEST_TIMEOUT_MS = 10_000;
    const { api, port, client } = await startApi({
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HEADERS_TIMEOUT_MS: '5000',
    });
    const pid = api.child.pid;
    if (pid === undefined) throw new Error('the api has no pid');
    const baseline = residentBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      if (api.child.exitCode === null) peak = Math.max(peak, residentBytes(pid));
    }, 50);
    try {
      const request = uploadAllButLastByte(BODY_LIMIT);
      const stalled = Array.from({ length: STALLED }, () => stalledClient(port, request));
      await waitFor(() => stalled.every((watched) => watched.written), {
        what: 'uploads written',
        unless: api.assertRunning,
      });

      // A new connection is served while they hang.
      const health = await client.send({ method: 'GET', url: '/health' });
      const openDuringHealth = stalled.filter((watched) => watched.lifetimeMs === undefined).length;

      await waitFor(() => stalled.every((watched) => watched.lifetimeMs !== undefined), {
        timeoutMs: REQUEST_TIMEOUT_MS + 15_000,
        what: 'every stalled upload closed by the server',
        unless: api.assertRunning,
      });

      expect(health.status).toBe(200);
      expect(openDuringHealth).toBe(STALLED);
      const lifetimes = stalled.map((watched) => watched.lifetimeMs ?? 0);
      // None was cut before its deadline.
      expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
      const answers = new Set(stalled.map((watched) => watched.received));
      expect(answers.size).toBe(1);
      const [answer = ''] = answers;
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(REQUEST_TIMEOUT_BODY);
      // Each upload holds at most its body while it lasts (×2: chunks and their concatenation), plus headroom.
      expect(peak - baseline).toBeLessThan(STALLED * BODY_LIMIT * 2 + 64 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);

  it('headers that never end are answered 408 and closed at HEADERS_TIMEOUT_MS', async () => {
    const HEADERS_TIMEOUT_MS = 1500;
    const { api, port } = await startApi({
      REQUEST_TIMEOUT_MS: '60000',
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    });
    const watched = stalledClient(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a');
    await waitFor(() => watched.lifetimeMs !== undefined, {
      timeoutMs: HEADERS_TIMEOUT_MS + 15_000,
      what: 'the slow headers closed',
      unless: api.assertRunning,
    });
    expect(watched.lifetimeMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
    expect(watched.received.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(watched.received.slice(watched.received.indexOf('\r\n\r\n') + 4)).toBe(REQUEST_TIMEOUT_BODY);
  }, 30_000);
});

describe('a body over BODY_LIMIT_BYTES', () => {
  // 20 MiB: enough still in flight when the answer leaves that a reset shows (EPIPE about half the time before).
  it.each([2, 20])(
    "undici's fetch of %i MiB reads the 413 JSON 20 times in 20 (no reset while it still writes)",
    async (mebibytes) => {
      const { api, client } = await startApi({});
      const body = JSON.stringify({ input: 'x'.repeat(mebibytes * 1024 * 1024) });
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < 20; attempt += 1) {
        api.assertRunning();
        // Recorded, not asserted, so one failure does not hide how the others went.
        outcomes.push(
          await client.post(body).then(
            (response) => `${response.status} ${response.body}`,
            (error: unknown) => `failed: ${String((error as { cause?: unknown }).cause ?? error)}`,
          ),
        );
      }
      expect(outcomes).toEqual(
        outcomes.map(() => '413 {"error":"Request body is too large.","code":"BODY_TOO_LARGE"}'),
      );
    },
    90_000,
  );
});

describe('MAX_CONNECTIONS', () => {
  it('connections beyond the cap are closed at once, unanswered; once sockets close, new ones are served', async () => {
    const MAX = 20;
    const EXTRA = 10;
    const { api, port, client } = await startApi({ MAX_CONNECTIONS: String(MAX) });
    // Keep-alive requests: a socket the server accepts stays open after its answer.
    const opened = Array.from({ length: MAX + EXTRA }, () =>
      stalledClient(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    );
    const served = (watched: Watched) => watched.received.endsWith(`{"status":"ok","version":"${FORETELL_VERSION}"}`);
    await waitFor(() => opened.every((watched) => served(watched) || watched.lifetimeMs !== undefined), {
      what: 'every socket served or closed',
      unless: api.assertRunning,
    });
    const accepted = opened.filter(served);
    const refused = opened.filter((watched) => !served(watched));
    // The start-up probe's pooled socket may still hold one of the MAX places.
    expect(accepted.length).toBeGreaterThanOrEqual(MAX - 1);
    expect(accepted.length).toBeLessThanOrEqual(MAX);
    expect(refused.map((watched) => watched.received)).toEqual(refused.map(() => ''));
    expect(accepted.filter((watched) => watched.lifetimeMs !== undefined)).toEqual([]);

    for (const watched of opened) watched.socket.destroy();
    const again = await waitFor(
      async () => (await client.send({ method: 'GET', url: '/health' }).catch(() => undefined))?.status === 200,
      { what: '/health served again', unless: api.assertRunning },
    );
    expect(again).toBe(true);
  });
});

describe('SIGTERM with a stalled upload open', () => {
  it('drains the in-flight request, closes the stalled upload and exits 0 well within the grace period', async () => {
    const { api, port, client } = await startApi({
      ...gate.env,
      // Long enough that neither the request timeout nor the grace period ends the wait: only the fix does.
      REQUEST_TIMEOUT_MS: '600000',
      HEADERS_TIMEOUT_MS: '60000',
      SHUTDOWN_GRACE_MS: '20000',
      LOG_LEVEL: 'debug',
    });
    const sync = client.post({ input: 'held' });
    await gate.held(1, { unless: api.assertRunning });
    const stalled = stalledClient(port, uploadAllButLastByte(1024));
    // Fastify logs each request it has received at debug: the sync one and the upload.
    await waitFor(() => api.lines.filter((line) => line.includes('"msg":"incoming request"')).length >= 3, {
      what: 'the upload received',
      unless: api.assertRunning,
    });

    api.child.kill('SIGTERM');
    await waitForLog(api, 'waiting for in-flight requests');
    expect(stalled.lifetimeMs).toBeUndefined();
    await gate.release(1);

    const response = await sync;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ input: 'held' });
    expect(await api.exited).toBe(0);
    expect(stalled.lifetimeMs).toBeDefined();
  }, 40_000);
});
