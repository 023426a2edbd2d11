import { createServer, type Server, type Socket } from 'node:net';
import { mockResult } from '@foretell/shared';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isPortTaken, launchRedis, type LocalRedis } from '../../scripts/lib/local-redis.mjs';
import {
  API_ON,
  disposeNpmStarts,
  isRunning,
  spawnNpmStart,
  startedNpmStart,
  waitUntilAllGone,
  type NpmStart,
} from '../support/npm-start.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// What holds npm start's Redis port when it starts: a Redis of its own left
// by an earlier run (stopped, data kept, replaced), or someone else's server
// (a one-line error naming LOCAL_REDIS_PORT, before any install or build, and
// that server left alone).

afterEach(disposeNpmStarts);

/** Lines that show npm start went past its checks. */
const PAST_CHECKS = ['▸ installing', '▸ dependencies up to date', '▸ building', '▸ build up to date', '▸ starting'];

async function finishedJob(run: NpmStart, input: string): Promise<string> {
  const id = await run.client.submit(input);
  await run.gate.release(1);
  await waitFor(async () => (await run.client.get(id)).status === 200, {
    unless: run.assertRunning,
    what: 'the job to finish',
  });
  return id;
}

/** The failure line npm start printed, after checking it printed nothing else of its own. */
function onlyFailure(run: NpmStart): string {
  const output = run.output();
  for (const line of PAST_CHECKS) expect(output).not.toContain(line);
  expect(output).not.toContain('\u001b[');
  const failures = output.split('\n').filter((line) => line.startsWith('✖'));
  expect(failures).toHaveLength(1);
  return failures[0] ?? '';
}

async function stop(run: NpmStart): Promise<void> {
  run.pressCtrlC();
  expect(await run.exited).toBe(0);
  await waitUntilAllGone(run);
}

describe("npm start's Redis port", () => {
  it(
    'held by a Redis an earlier npm start left behind: it is shut down, keeping its data, and replaced',
    { timeout: 420_000 },
    async () => {
      const earlier = await startedNpmStart();
      const id = await finishedJob(earlier, 'before the crash');
      // Everything of the earlier run dies at once but its Redis: nothing of it is there to stop Redis.
      const [redisServer] = earlier.alive().filter(({ command }) => /redis-server 127/.test(command));
      expect(redisServer).toBeDefined();
      for (const { pid } of earlier.alive()) if (pid !== redisServer?.pid) process.kill(pid, 'SIGKILL');
      await waitFor(() => earlier.alive().length === 1, { what: 'all but Redis gone' });
      expect(await isPortTaken(earlier.redisPort)).toBe(true);

      // Said if the line below is missing (seen once, on a loaded machine: the next start found the port free).
      const runningBefore = isRunning(redisServer?.pid ?? 0);
      const next = await startedNpmStart({
        port: earlier.port,
        redisPort: earlier.redisPort,
        dataDir: earlier.dataDir,
      });
      expect(
        next.output(),
        `the earlier Redis (pid ${redisServer?.pid}) was ${runningBefore ? 'running' : 'gone'} just before the next start`,
      ).toContain(
        `▸ stopping the redis-server (pid ${redisServer?.pid}) an earlier npm start left on port ${earlier.redisPort}; its data stays`,
      );
      expect(isRunning(redisServer?.pid ?? 0)).toBe(false);
      const job = await next.client.get(id);
      expect(job.status).toBe(200);
      expect(job.body).toContain(`"result":"${mockResult('before the crash')}"`);
      await stop(next);
    },
  );

  describe('held by a server of someone else', () => {
    let foreign: LocalRedis | undefined;
    let server: Server | undefined;
    const sockets = new Set<Socket>();
    afterEach(async () => {
      await foreign?.dispose();
      foreign = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
    });

    it(
      'a Redis: one line naming LOCAL_REDIS_PORT, before anything else, and that Redis untouched',
      { timeout: 120_000 },
      async () => {
        foreign = await launchRedis();
        const run = await spawnNpmStart({ redisPort: foreign.port });
        expect(await run.exited).toBe(1);
        expect(onlyFailure(run)).toBe(
          `✖ LOCAL_REDIS_PORT: port ${foreign.port} is already in use (a Redis not started from ${run.dataDir}); set LOCAL_REDIS_PORT to a free port, or REDIS_URL=redis://127.0.0.1:${foreign.port} to use the Redis there.`,
        );
        const client = new Redis(foreign.url, { maxRetriesPerRequest: 1 });
        try {
          expect(await client.ping()).toBe('PONG');
        } finally {
          client.disconnect();
        }
        await waitUntilAllGone(run);
      },
    );

    it('not a Redis at all: the same one line', { timeout: 120_000 }, async () => {
      const port = await freePort();
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      const run = await spawnNpmStart({ redisPort: port });
      expect(await run.exited).toBe(1);
      expect(onlyFailure(run)).toMatch(
        new RegExp(
          `^✖ LOCAL_REDIS_PORT: port ${port} is already in use \\(it does not answer as Redis .*\\); set LOCAL_REDIS_PORT to a free port`,
        ),
      );
      await waitUntilAllGone(run);
    });
  });

  it(
    'used by another npm start on the same data: the second one refuses, the first goes on',
    { timeout: 420_000 },
    async () => {
      const first = await startedNpmStart();
      const second = await spawnNpmStart({ dataDir: first.dataDir });
      expect(await second.exited).toBe(1);
      const runner = first.process('scripts/start.mjs').pid;
      expect(onlyFailure(second)).toBe(
        `✖ LOCAL_REDIS_DIR: another npm start (pid ${runner}) is running on ${first.dataDir}; stop it, or give this one its own LOCAL_REDIS_DIR and LOCAL_REDIS_PORT.`,
      );
      await waitUntilAllGone(second);
      expect((await first.client.send({ method: 'GET', url: '/ready' })).status).toBe(200);
      expect(first.output()).toContain(API_ON);
      await stop(first);
    },
  );
});
