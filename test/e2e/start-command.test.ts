import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mockResult } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { isPortTaken } from '../../scripts/lib/local-redis.mjs';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// `npm start` itself: installs (already installed here), builds, starts its own
// redis-server with AOF, the API and a consumer; SIGINT stops all of it.
describe('npm start', () => {
  it('runs the whole service on a local Redis and stops it all on SIGINT', { timeout: 120_000 }, async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const dataDir = await mkdtemp(join(tmpdir(), 'foretell-start-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: dataDir,
      MODEL_MIN_LATENCY_MS: '0',
      MODEL_MAX_LATENCY_MS: '0',
    };
    // Its own process group, as in a terminal: Ctrl-C signals the whole group.
    const runner = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pressCtrlC = () => process.kill(-(runner.pid ?? 0), 'SIGINT');
    let output = '';
    runner.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | string>((resolve) =>
      runner.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200, {
        timeoutMs: 100_000,
        intervalMs: 250,
        what: `the service to be ready; output so far:\n${output}`,
      });
      const submitted = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'async-mode': 'true' },
        body: '{"input":"from npm start"}',
      });
      const { prediction_id: id } = (await submitted.json()) as { prediction_id: string };
      const body = await waitFor(async () => {
        const response = await fetch(`${base}/predict/${id}`);
        return response.status === 200 ? await response.json() : undefined;
      });
      expect(body).toEqual({
        prediction_id: id,
        output: { input: 'from npm start', result: mockResult('from npm start') },
      });
      expect(output).toMatch(/api\s+│/);
      expect(output).toMatch(/consumer│/);
      expect(await readdir(dataDir)).toContain('appendonlydir');
      expect(await isPortTaken(redisPort)).toBe(true);

      pressCtrlC();
      // npm itself ends by the signal, as it does in a terminal; the runner drains and exits 0.
      expect([0, 'SIGINT']).toContain(await exited);
      await waitFor(() => output.includes('consumer stopped') && output.includes('bye bye'), {
        what: `an orderly stop; output:\n${output}`,
      });
      // Nothing is left listening.
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
      await waitFor(async () => !(await isPortTaken(redisPort)), { what: 'redis-server gone' });
    } finally {
      if (runner.exitCode === null && runner.signalCode === null) process.kill(-(runner.pid ?? 0), 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
