import { DEFAULT_KEY_PREFIX, redisKeys } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { isPortTaken } from '../../scripts/lib/local-redis.mjs';
import {
  API_ON,
  disposeNpmStarts,
  openFile,
  startedNpmStart,
  waitUntilAllGone,
  type NpmStart,
} from '../support/npm-start.js';
import { waitFor } from '../support/wait-for.js';

// However `npm start` is stopped (a signal to npm or to the runner, an IDE's
// stop button, a closed terminal, a SIGKILL of the runner), the job in hand is
// finished, Redis stops after the apps, and nothing is left running or holding
// a port for the next start.

afterEach(disposeNpmStarts);

const RUNNER = 'scripts/start.mjs';
const CONSUMER = 'apps/consumer/dist/main.js';
/** The descriptor the runner's pipe is on in each app (scripts/lib/stop-with-runner.mjs). */
const LIFELINE_FD = 3;

type Target = 'npm' | 'runner';

function pidOf(run: NpmStart, target: Target): number {
  return target === 'npm' ? run.npmPid : run.process(RUNNER).pid;
}

/** How npm itself ends: with the runner's exit code, unless it was killed (SIGHUP) or passes on the runner's death. */
function npmEnd(target: Target, signal: NodeJS.Signals): number | string {
  if (target === 'npm' && signal === 'SIGHUP') return 'SIGHUP';
  if (signal === 'SIGKILL') return 'SIGKILL';
  return 0;
}

describe('npm start stops everything it started', () => {
  it.each<[NodeJS.Signals, Target]>([
    ['SIGINT', 'npm'],
    ['SIGTERM', 'npm'],
    ['SIGHUP', 'npm'],
    ['SIGINT', 'runner'],
    ['SIGTERM', 'runner'],
    ['SIGHUP', 'runner'],
    ['SIGKILL', 'runner'],
  ])('on %s to the %s process, after draining the job in hand', { timeout: 420_000 }, async (signal, target) => {
    const run = await startedNpmStart();
    const announced: string[] = [];
    // Without retries: it ends when Redis stops, after every message Redis sent was read.
    const subscriber = run.redis.duplicate({ retryStrategy: () => null });
    subscriber.on('message', (_channel: string, id: string) => announced.push(id));
    await subscriber.subscribe(redisKeys(DEFAULT_KEY_PREFIX).done);
    const id = await run.client.submit(`in hand at ${signal}`);
    await run.gate.held(1, { unless: run.assertRunning });
    const consumer = run.process(CONSUMER).pid;
    const lifeline = openFile(consumer, LIFELINE_FD);
    expect(lifeline).toMatch(/^socket:/);

    process.kill(pidOf(run, target), signal);
    // The consumer's pipe from the runner closed: it has signalled itself to stop (stop-with-runner.mjs),
    // with the job still held.
    await waitFor(() => openFile(consumer, LIFELINE_FD) !== lifeline, { what: "the consumer's lifeline to close" });
    if (signal !== 'SIGKILL') await run.waitForOutput('draining jobs in hand');
    await run.gate.release(1);

    expect(await run.exited).toBe(npmEnd(target, signal));
    await waitFor(() => subscriber.status === 'end', { timeoutMs: 30_000, what: 'Redis to stop' }).catch(
      (error: unknown) => {
        // Redis waits for every app to let go of its lifeline: name what is still running.
        throw new Error(
          `${(error as Error).message}; still running: ${JSON.stringify(run.alive())}; output:\n${run.output()}`,
          {
            cause: error,
          },
        );
      },
    );
    // The job in hand finished, and Redis was still there to take its result.
    expect(announced).toEqual([id]);
    await waitUntilAllGone(run);
    await expect(fetch(`${run.base}/health`)).rejects.toThrow();
    expect(await isPortTaken(run.redisPort)).toBe(false);
    const output = run.output();
    expect(output).not.toContain('second signal');
    expect(output).not.toContain('\u001b[');
    if (signal !== 'SIGKILL') {
      expect(output.indexOf('consumer stopped')).toBeGreaterThan(output.indexOf('draining jobs in hand'));
      expect(output.indexOf('bye bye')).toBeGreaterThan(output.indexOf('consumer stopped'));
      return;
    }
    // Nothing holds the ports: the next start, on the same ones and the same data, comes up.
    const next = await startedNpmStart({ port: run.port, redisPort: run.redisPort, dataDir: run.dataDir });
    expect(next.output()).toContain(`${API_ON}127.0.0.1:${run.port}`);
    expect((await next.client.get(id)).status).toBe(200);
  });
});
