// The dashboard in headless Chromium, on the built API and real consumers:
// it loads with no console error and no request off its origin, asks for the
// API key, its numbers and charts move as jobs run, a dead letter is replayed
// by clicking its button, and the search shows the job it queued again. It
// takes the README's screenshot (docs/dashboard.png with UPDATE_SCREENSHOTS=1).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mockResult } from '@foretell/shared';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForApi } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { ROOT } from '../support/build-check.js';
import { launchChromium, openLocalPage, type LocalPage } from '../support/browser.js';
import { acceptedId } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const FAILING_MODEL = fileURLToPath(new URL('../fixtures/consumer-failing-model.mjs', import.meta.url));
const FAILING_REASON = 'fixture model: down on purpose';
// 33 bytes: 44 characters of base64 without padding, a valid key.
const API_KEY = randomBytes(33).toString('base64');
// The mock model takes 20-300 ms, so the latency chart has something to show.
const MODEL_LATENCY = { MODEL_MIN_LATENCY_MS: '20', MODEL_MAX_LATENCY_MS: '300' };

const apps = useAppsOnPrefix('dashboard');
let browser: Browser | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** Queues a job with the test's key; resolves with its id. */
async function submit(base: string, input: string): Promise<string> {
  const response = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'async-mode': 'true', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ input }),
  });
  const headers = Object.fromEntries(response.headers);
  return acceptedId({ status: response.status, headers, body: await response.text() });
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
const polls = async (page: Page) => Number(await page.locator('#board').getAttribute('data-polls'));

describe('the dashboard in headless Chromium', () => {
  it('shows the queue move, replays a dead letter from its button, and finds a job', async () => {
    if (!browser) throw new Error('no browser');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const api = apps.start('api', { PORT: String(port), HOST: '127.0.0.1', API_KEYS: API_KEY, ...MODEL_LATENCY });
    // First a consumer whose model fails every job, on the first attempt: dead letters.
    const failing = apps.start('consumer', {
      CONSUMER_NAME: `${apps.prefix}-failing`,
      MODEL_MODULE: FAILING_MODEL,
      FIXTURE_MODEL_FAILS: 'true',
      MAX_ATTEMPTS: '1',
    });
    const running = () => {
      api.assertRunning();
    };
    await waitForApi(base, '/ready', () => {
      running();
      failing.assertRunning();
    });

    const tab: LocalPage = await openLocalPage(browser, base);
    const consoleErrors: string[] = [];
    tab.page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') consoleErrors.push(message.text());
    });
    try {
      const { page } = tab;
      await page.goto(`${base}/dashboard`);
      // Keys are on: the page asks for one before it shows anything.
      await page.locator('#key-form').waitFor({ state: 'visible' });
      await page.locator('#key-input').fill(API_KEY);
      await page.locator('#key-form button[type=submit]').click();
      await waitFor(async () => (await polls(page)) >= 1, { what: 'a first read', unless: running });
      expect(await page.locator('#key-form').isHidden()).toBe(true);

      // Two jobs fail for good: their dead letters appear, with the model's reason and a replay button.
      const [replayed, kept] = [await submit(base, 'first to fail'), await submit(base, 'second to fail')];
      const row = (jobId: string) => page.locator('#dead-letters tbody tr', { hasText: jobId });
      await waitFor(async () => (await row(replayed).count()) === 1 && (await row(kept).count()) === 1, {
        what: 'both dead letters listed',
        unless: running,
      });
      expect(await text(page, '#dead-count')).toBe('2');
      expect(await row(replayed).locator('td', { hasText: FAILING_REASON }).count()).toBe(1);
      await failing.kill();

      // No consumer: the backlog grows as jobs are queued.
      for (let i = 0; i < 30; i += 1) await submit(base, `backlog ${i}`);
      await waitFor(async () => (await text(page, '#backlog')) === '30', {
        what: 'the backlog at 30',
        unless: running,
      });

      // A working consumer: the backlog drains, the counts, rates and quantiles move.
      const worker = apps.start('consumer', { CONSUMER_NAME: `${apps.prefix}-worker`, ...MODEL_LATENCY });
      const bothRunning = () => {
        running();
        worker.assertRunning();
      };
      await waitFor(async () => (await text(page, '#backlog')) === '0', {
        what: 'the backlog drained',
        unless: bothRunning,
      });
      // A steady trickle for a few reads, so the charts draw a line rather than one spike.
      for (let round = 0; round < 6; round += 1) {
        const seen = await polls(page);
        await Promise.all(Array.from({ length: 8 }, (_, i) => submit(base, `trickle ${round}-${i}`)));
        await waitFor(async () => (await polls(page)) > seen, { what: 'the next read', unless: bothRunning });
      }
      await waitFor(async () => Number(await text(page, '#jobs-done')) >= 78, {
        what: 'every job counted as done',
        unless: bothRunning,
      });
      await waitFor(async () => Number(await text(page, '#jobs-per-second')) > 0, {
        what: 'a rate of jobs',
        unless: bothRunning,
      });
      expect(await text(page, '#p50')).toMatch(/^\d+ ms$/);
      expect(await text(page, '#p99')).toMatch(/^\d+ ms$/);
      expect(Number(await page.locator('#board').getAttribute('data-points'))).toBeGreaterThanOrEqual(8);
      // uPlot drew its three charts, each a canvas.
      expect(await page.locator('.chart canvas').count()).toBe(3);
      const consumers = await page.locator('#consumers tbody tr td:first-child').allTextContents();
      expect(consumers).toEqual([`${apps.prefix}-failing`, `${apps.prefix}-worker`]);

      // Replay one letter by its button: it is queued again, the worker finishes it, the letter is gone.
      await row(replayed).locator('button.replay').click();
      await waitFor(async () => (await text(page, '#replay-result')).includes(replayed), {
        what: 'the replay confirmed',
        unless: bothRunning,
      });
      await waitFor(async () => (await row(replayed).count()) === 0, { what: 'the letter gone', unless: bothRunning });
      expect(await row(kept).count()).toBe(1);
      await waitFor(
        async () => {
          const response = await fetch(`${base}/predict/${replayed}`, {
            headers: { authorization: `Bearer ${API_KEY}` },
          });
          return response.status === 200 ? ((await response.json()) as { output: { result: string } }) : undefined;
        },
        { what: 'the replayed job done', unless: bothRunning },
      ).then((answer) => expect(answer.output.result).toBe(mockResult('first to fail')));

      // The search shows its record.
      await page.locator('#search-id').fill(replayed);
      await page.locator('#search button[type=submit]').click();
      await page.locator('#job-record dd[data-field=status]').waitFor();
      expect(await text(page, '#job-record dd[data-field=status]')).toBe('succeeded');
      expect(await text(page, '#job-record dd[data-field=result]')).toBe(mockResult('first to fail'));
      expect(await text(page, '#job-record dd[data-field=model]')).toBe('mock 1.0.0');

      const png = await page.screenshot({ fullPage: true });
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(png.length).toBeGreaterThan(10_000);
      // Written only when asked: each run used to leave a copy in a new temporary folder.
      if (process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(join(ROOT, 'docs', 'dashboard.png'), png);
    } finally {
      await tab.close();
    }
    expect(tab.pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(tab.offsite).toEqual([]);
  });
});
