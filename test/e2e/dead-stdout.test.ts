import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { type AppProcess, startApp, waitForApi, waitForLog } from '../support/app-process.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// An app whose stdout reader is gone (`npm start` killed with SIGKILL, a log
// shipper that died) still stops on SIGTERM, with code 0. With pino's default
// asynchronous logger, the flush of buffered lines at exit hit the broken
// pipe: on sonic-boom 4 it retried for ever (the process never ended), on 5
// it threw, and close-with-grace made it exit 1 (process-logger.ts). The
// fixture races exactly that: lines logged just before process.exit.

const started: AppProcess[] = [];
const cleanups: (() => void)[] = [];
const prefix = `e2e-${randomUUID().slice(0, 8)}`;
afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.kill()));
  for (const cleanup of cleanups.splice(0)) cleanup();
  const redis = new Redis(inject('redisUrl'));
  const found = await redis.keys(`${prefix}:*`);
  if (found.length > 0) await redis.del(...found);
  await redis.quit();
});

/** Long enough for a drained, idle app on a loaded machine; the hang this guards against lasted for ever. */
const EXIT_DEADLINE_MS = 20_000;

async function stopsWithItsStdoutGone({ child, exited }: Pick<AppProcess, 'child' | 'exited'>): Promise<void> {
  // Nothing reads the app's output any more: its next write fails with EPIPE.
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.kill('SIGTERM');
  let exit: number | string | undefined;
  void exited.then((value) => (exit = value));
  await waitFor(() => exit !== undefined, { timeoutMs: EXIT_DEADLINE_MS, what: 'the app to exit' });
  expect(exit).toBe(0);
}

describe('an app whose stdout reader is gone', () => {
  it('a process logging as the apps do exits 0 right after logging', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/log-then-exit.mjs', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    cleanups.push(() => child.kill('SIGKILL'));
    await once(child.stdout, 'data');
    await stopsWithItsStdoutGone({ child, exited });
  });

  it('the API exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const api = startApp('api', {
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    started.push(api);
    await waitForApi(`http://127.0.0.1:${port}`, '/health', api.assertRunning);
    await stopsWithItsStdoutGone(api);
  });

  it('the consumer exits 0 on SIGTERM', async () => {
    const consumer = startApp('consumer', {
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: prefix,
    });
    started.push(consumer);
    await waitForLog(consumer, 'consumer started');
    await stopsWithItsStdoutGone(consumer);
  });
});
