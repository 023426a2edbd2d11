import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { DEFAULT_KEY_PREFIX, mockResult, redisKeys } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { isPortTaken } from '../../scripts/lib/local-redis.mjs';
import { API_ON, disposeNpmStarts, startedNpmStart, waitUntilAllGone } from '../support/npm-start.js';
import { waitFor } from '../support/wait-for.js';

// `npm start` itself: installs and builds when needed, starts its own
// redis-server with AOF, the API and a consumer; Ctrl-C stops all of it. The
// start-*.test.ts files run alone, after every other one (vitest.config.ts),
// because a build rewrites the `dist` the other end-to-end files run.

afterEach(disposeNpmStarts);

/** The addresses (hex, as /proc/net/tcp{,6} shows them) that listen on TCP `port`. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'latin1')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local_address is `address:port`; state 0A is LISTEN.
      .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
      .map((fields) => fields[1]?.split(':')[0] ?? ''),
  );
}

describe('npm start', () => {
  it(
    'runs the whole service on 127.0.0.1 and a local Redis; Ctrl-C drains the job in hand, then stops all of it',
    { timeout: 420_000 },
    async () => {
      // No HOST: npm start listens on this machine only.
      const run = await startedNpmStart();
      // "API on" comes once the API listens, and names where.
      expect(run.output()).toContain(`${API_ON}127.0.0.1:${run.port} — Swagger UI at`);
      expect((await fetch(`${run.base}/health`)).status).toBe(200);
      expect(listeningAddresses(run.port)).toEqual(['0100007F']);

      const first = await run.client.submit('from npm start');
      await run.gate.release(1);
      const done = await waitFor(
        async () => {
          const response = await run.client.get(first);
          return response.status === 400 ? undefined : response;
        },
        { unless: run.assertRunning, what: 'the first job' },
      );
      expect(done.status).toBe(200);
      expect(done.body).toBe(
        `{"prediction_id":"${first}","output":{"input":"from npm start","result":"${mockResult('from npm start')}"}}`,
      );
      expect(run.output()).toMatch(/api\s+│/);
      expect(run.output()).toMatch(/consumer│/);
      expect(run.output()).toMatch(/redis\s+│/);
      expect(await readdir(run.dataDir)).toContain('appendonlydir');
      expect(await isPortTaken(run.redisPort)).toBe(true);

      // A job in the model when Ctrl-C comes: the consumer finishes it before anything stops.
      const announced: string[] = [];
      // Without retries, so that it ends when Redis stops, after every message it sent was read.
      const subscriber = run.redis.duplicate({ retryStrategy: () => null });
      subscriber.on('message', (_channel: string, id: string) => announced.push(id));
      await subscriber.subscribe(redisKeys(DEFAULT_KEY_PREFIX).done);
      const second = await run.client.submit('in hand at Ctrl-C');
      await run.gate.held(2, { unless: run.assertRunning });
      // The terminal's SIGINT reaches npm and the runner; npm forwards its copy: one Ctrl-C all the same.
      run.pressCtrlC();
      await run.waitForOutput('draining jobs in hand');
      await run.gate.release(1);

      expect(await run.exited).toBe(0);
      await waitFor(() => subscriber.status === 'end', { what: 'the subscriber to see Redis stop' });
      expect(announced).toEqual([second]);
      const output = run.output();
      expect(output).not.toContain('second signal');
      expect(output.indexOf('consumer stopped')).toBeGreaterThan(output.indexOf('draining jobs in hand'));
      // Redis stops last, after the apps.
      expect(output.indexOf('bye bye')).toBeGreaterThan(output.indexOf('consumer stopped'));
      // Output to a pipe carries no colour codes.
      expect(output).not.toContain('\u001b[');
      // Nothing is left running or listening.
      expect(run.alive()).toEqual([]);
      await expect(fetch(`${run.base}/health`)).rejects.toThrow();
      expect(await isPortTaken(run.redisPort)).toBe(false);
    },
  );

  it('a second Ctrl-C while it drains kills everything at once', { timeout: 420_000 }, async () => {
    const run = await startedNpmStart();
    await run.client.submit('never finished');
    await run.gate.held(1, { unless: run.assertRunning });
    run.pressCtrlC();
    await run.waitForOutput('draining jobs in hand');
    // Said once a Ctrl-C no longer counts as npm's forwarded copy of the first.
    await run.waitForOutput('press Ctrl-C again to kill everything now');
    run.pressCtrlC();

    // The model is still held, so only the kill can end the consumer.
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('second signal: killing everything now');
    expect(run.output()).not.toContain('consumer stopped');
    await waitUntilAllGone(run);
    await expect(fetch(`${run.base}/health`)).rejects.toThrow();
    expect(await isPortTaken(run.redisPort)).toBe(false);
  });
});
