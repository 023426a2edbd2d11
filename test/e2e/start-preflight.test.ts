import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isPortTaken } from '../../scripts/lib/local-redis.mjs';
import { unsupportedNodeWarning } from '../../scripts/lib/node-support.mjs';
import { disposeNpmStarts, ROOT, spawnNpmStart, waitUntilAllGone, type NpmStart } from '../support/npm-start.js';
import { freePort } from '../support/redis-server.js';

// A bad setting or a busy port is reported before npm start installs or
// builds anything (minutes on a fresh clone); the apps' own settings are
// checked before anything starts; an app that exits while starting stops the
// rest, and "API on" is never printed. Every error line is plain text on a pipe.

afterEach(disposeNpmStarts);

const FAILURE_TIMEOUT_MS = 120_000;

/** What npm start printed after npm's own header, once it has exited 1 and left nothing running. */
async function failedWith(run: NpmStart): Promise<string> {
  expect(await run.exited).toBe(1);
  await waitUntilAllGone(run);
  const output = run.output();
  expect(output).not.toContain('\u001b[');
  expect(output).not.toContain('API on');
  const printed = output.replace(/^[\s\S]*?> exec node scripts\/start\.mjs\n\n/, '');
  // On a Node outside engines.node (this machine's 20), npm start warns first, in one line.
  const warning = unsupportedNodeWarning(ROOT);
  if (warning === undefined) return printed;
  expect(printed.startsWith(`! ${warning}\n`)).toBe(true);
  return printed.slice(`! ${warning}\n`.length);
}

describe('npm start checks first', () => {
  it('a bad PORT, before installing or building', { timeout: FAILURE_TIMEOUT_MS }, async () => {
    const run = await spawnNpmStart({ env: { PORT: 'eighty', LOCAL_REDIS_MAXMEMORY: 'lots' } });
    expect(await failedWith(run)).toBe(
      '✖ invalid configuration:\n' +
        '  PORT: must be a whole number from 0 to 65535 (got "eighty")\n' +
        '  LOCAL_REDIS_MAXMEMORY: must be bytes, or a number with kb, mb or gb (got "lots")\n',
    );
  });

  describe('a busy PORT', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
    });

    it('before installing or building', { timeout: FAILURE_TIMEOUT_MS }, async () => {
      const port = await freePort();
      server = createServer();
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      const run = await spawnNpmStart({ port });
      expect(await failedWith(run)).toBe(
        `✖ PORT: 127.0.0.1:${port} is already in use; stop what listens there, or set PORT to a free port.\n`,
      );
    });

    it("and the consumer's METRICS_PORT, before installing or building", { timeout: FAILURE_TIMEOUT_MS }, async () => {
      const port = await freePort();
      server = createServer();
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      const run = await spawnNpmStart({ env: { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' } });
      expect(await failedWith(run)).toBe(
        `✖ METRICS_PORT: 127.0.0.1:${port} is already in use; stop what listens there, or set METRICS_PORT to a free port.\n`,
      );
    });
  });

  it("the apps' own settings, naming each bad one once, before starting anything", { timeout: 420_000 }, async () => {
    // KEY_PREFIX is read by both apps: one line all the same.
    const run = await spawnNpmStart({ env: { SYNC_TIMEOUT_MS: 'soon', KEY_PREFIX: 'a b' } });
    const output = await failedWith(run);
    // Checked with the apps' own loaders, from the build.
    expect(output).toMatch(
      /^▸ (installing|dependencies up to date)[^\n]*\n(?:[\s\S]*\n)?▸ (building|build up to date)/,
    );
    const failure = output.slice(output.indexOf('✖'));
    expect(failure).toMatch(/^✖ invalid configuration:\n {2}\S/);
    expect(failure.match(/^ {2}SYNC_TIMEOUT_MS: /gm)).toHaveLength(1);
    expect(failure.match(/^ {2}KEY_PREFIX: /gm)).toHaveLength(1);
    expect(output).not.toContain('▸ starting redis-server');
    expect(await isPortTaken(run.redisPort)).toBe(false);
  });
});

describe('an app that exits while npm start starts it', () => {
  it('stops the rest, says why, and never says "API on"', { timeout: 420_000 }, async () => {
    const run = await spawnNpmStart({
      env: { MODEL_MODULE: `${ROOT}test/fixtures/model-factory-throws.mjs` },
    });
    const output = await failedWith(run);
    expect(output).toContain('▸ starting redis-server');
    // Both apps load the model; whichever exits first is named, with what it said.
    expect(output).toMatch(
      /\n✖ the (API|consumer) exited \(1\) while starting: (foretell api|foretell consumer): createModel\(\) of \S+model-factory-throws\.mjs failed: model weights not found at \/nowhere\/weights\.bin\n/,
    );
    // Redis was stopped after the apps.
    expect(output).toContain('bye bye');
    expect(await isPortTaken(run.redisPort)).toBe(false);
  });
});
