import { createMockModel, loadModel, MESSAGES, mockResult } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, openLocalPage, type LocalPage } from '../../../test/support/browser.js';
import { SENTIMENT_MODEL_SETTINGS } from '../../../test/support/sentiment-model.js';
import { UUID_V4 } from '../../../test/support/predict-client.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildApp } from '../src/app.js';
import { loadApiConfig } from '../src/config.js';

/** Swagger UI puts zero-width spaces before each `/` of a path so long paths can wrap. */
const visibleText = (text: string | null) => (text ?? '').replace(/\u200b/g, '').trim();

/** One operation block, found by method and path as the UI lists them. */
function operation(page: Page, method: string, path: string): Locator {
  return page.locator(`.opblock.opblock-${method}`, {
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
}

/** Expands the operation and puts it in "Try it out" mode (the UI may already open it so: tryItOutEnabled). */
async function tryItOut(op: Locator): Promise<void> {
  await op.locator('.opblock-summary-control').click();
  const toggle = op.locator('.try-out__btn');
  await toggle.waitFor();
  if (visibleText(await toggle.textContent()) === 'Try it out') await toggle.click();
  await op.locator('.execute').waitFor();
}

/** Types into a parameter's input and leaves it, so the UI commits the value (its inputs are debounced). */
async function setParameter(op: Locator, name: string, value: string): Promise<void> {
  const input = op.locator(`tr[data-param-name="${name}"] input`);
  await input.fill(value);
  await input.blur();
}

interface LiveResponse {
  readonly status: string;
  readonly body: string;
  readonly curl: string;
}

/** Clicks Execute and reads the server response the UI shows. */
async function execute(op: Locator): Promise<LiveResponse> {
  const live = op.locator('.live-responses-table');
  // A response shown already (an earlier Execute) is cleared first: read at once
  // after the click, on a loaded machine, it could pass for the new one.
  const clear = op.locator('.btn-clear');
  if ((await clear.count()) > 0) {
    await clear.click();
    await live.waitFor({ state: 'detached' });
  }
  await op.locator('.execute').click();
  const status = live.locator('tbody .response-col_status');
  await status.waitFor();
  const body = live.locator('.response-col_description .highlight-code .microlight').first();
  await body.waitFor();
  return {
    status: visibleText(await status.textContent()),
    body: visibleText(await body.textContent()),
    curl: visibleText(await op.locator('.curl-command').textContent()),
  };
}

// One Chromium for the file's describes (each test has its own context and tab):
// each launch is several processes and a quarter of a second of CPU.
let browser: Browser | undefined;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/**
 * Registers the hooks of a describe that drives /docs in Chromium: one app
 * (built by `deps` on a test prefix) listening on loopback, the file's
 * browser, a fresh tab on /docs for each test, whose requests must all stay
 * on the app and whose page must raise no error. Returns this test's tab.
 */
function useDocsInChromium(
  deps: (t: TestRedis) => Parameters<typeof buildApp>[0] | Promise<Parameters<typeof buildApp>[0]>,
): {
  tab: () => LocalPage;
  redis: () => TestRedis;
} {
  let t: TestRedis | undefined;
  let app: FastifyInstance | undefined;
  let origin = '';
  let openTab: LocalPage | undefined;

  beforeAll(async () => {
    t = testRedis();
    app = await buildApp(await deps(t));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the app is not listening on TCP');
    origin = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  beforeEach(async () => {
    openTab = undefined;
    if (!browser) throw new Error('no browser');
    openTab = await openLocalPage(browser, origin);
    await openTab.page.goto(`${origin}/docs`);
    await openTab.page.locator('.opblock').first().waitFor();
  });

  afterEach(async () => {
    // Only the page this test opened.
    const own = openTab;
    openTab = undefined;
    if (!own) return;
    await own.close();
    expect(own.offsite).toEqual([]);
    expect(own.pageErrors).toEqual([]);
  });

  return {
    /** This test's page; throws if its beforeEach did not open one. */
    tab: () => {
      if (!openTab) throw new Error('no page: beforeEach failed');
      return openTab;
    },
    /** The app's Redis and prefix. */
    redis: () => {
      if (!t) throw new Error('no test Redis: beforeAll failed');
      return t;
    },
  };
}

describe('Swagger UI at /docs, in headless Chromium', { timeout: 60_000 }, () => {
  const { tab, redis } = useDocsInChromium((t) => ({
    // Production defaults for every setting this test does not choose.
    config: {
      ...loadApiConfig({}),
      KEY_PREFIX: t.prefix,
      RESULT_TTL_SECONDS: 60,
      SYNC_TIMEOUT_MS: 5000,
      BODY_LIMIT_BYTES: 1048576,
    },
    redis: t.redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
  }));

  it('lists the predict operations and the probes', async () => {
    const page = tab().page;
    const methods = await page.locator('.opblock-summary .opblock-summary-method').allTextContents();
    const paths = await page.locator('.opblock-summary .opblock-summary-path').allTextContents();
    expect(methods).toHaveLength(paths.length);
    const listed = methods.map((method, i) => `${visibleText(method)} ${visibleText(paths[i] ?? '')}`);
    expect(listed).toEqual(
      expect.arrayContaining(['POST /predict', 'GET /predict/{prediction_id}', 'GET /health', 'GET /ready']),
    );
    expect(visibleText(await tab().page.locator('.info .title').textContent())).toMatch(/^foretell/);
  });

  it('runs POST /predict synchronously and shows 200 with the result', async () => {
    const op = operation(tab().page, 'post', '/predict');
    await tryItOut(op);
    // The form starts with no header set: Execute as it comes runs the model synchronously.
    const headerRows = op.locator('tr[data-param-in="header"]');
    await expect.poll(() => headerRows.count(), { timeout: 10_000 }).toBe(3);
    const headerNames = await Promise.all((await headerRows.all()).map((row) => row.getAttribute('data-param-name')));
    expect(headerNames).toEqual(['async-mode', 'idempotency-key', 'prefer']);
    const headerInputs = await headerRows.locator('input').all();
    expect(headerInputs).toHaveLength(3);
    for (const input of headerInputs) expect(await input.inputValue()).toBe('');
    await op.locator('textarea.body-param__text').fill('{"input": "hello from swagger"}');

    const response = await execute(op);
    expect(response.status).toBe('200');
    expect(response.body).toMatch(/"result": "\d+"/);
    expect(JSON.parse(response.body)).toEqual({
      input: 'hello from swagger',
      result: mockResult('hello from swagger'),
    });
    expect(response.curl).not.toMatch(/async-mode/i);
  });

  it('queues with Async-Mode: true (202), then polls the id and sees it still processing (400)', async () => {
    const post = operation(tab().page, 'post', '/predict');
    await tryItOut(post);
    await setParameter(post, 'async-mode', 'true');
    await post.locator('textarea.body-param__text').fill('{"input": "queued from swagger"}');

    const accepted = await execute(post);
    expect(accepted.status).toBe('202');
    expect(accepted.curl).toMatch(/-H 'async-mode: true'/);
    const body = JSON.parse(accepted.body) as { message: string; prediction_id: string };
    expect(body.message).toBe(MESSAGES.accepted);
    expect(body.prediction_id).toMatch(UUID_V4);

    // No consumer runs here, so the job stays queued.
    expect(await redis().redis.hget(redis().keys.job(body.prediction_id), 'status')).toBe('queued');

    const get = operation(tab().page, 'get', '/predict/{prediction_id}');
    await tryItOut(get);
    await setParameter(get, 'prediction_id', body.prediction_id);
    const polled = await execute(get);
    expect(polled.status).toBe('400');
    expect(JSON.parse(polled.body)).toEqual({ error: MESSAGES.stillProcessing });
    expect(polled.curl).toContain(`/predict/${body.prediction_id}`);
  });

  it('shows 404 for GET /predict/{prediction_id} with an unknown id', async () => {
    const op = operation(tab().page, 'get', '/predict/{prediction_id}');
    await tryItOut(op);
    await setParameter(op, 'prediction_id', 'abc123');

    const response = await execute(op);
    expect(response.status).toBe('404');
    expect(JSON.parse(response.body)).toEqual({ error: 'Prediction ID not found.' });
    expect(response.body).toContain('Prediction ID not found.');
  });
});

describe('Swagger UI with API keys, in headless Chromium', { timeout: 60_000 }, () => {
  const KEY = 'swagger-ui-test-key-0123456789abcdef';
  const { tab } = useDocsInChromium((t) => ({
    config: { ...loadApiConfig({ API_KEYS: KEY }), KEY_PREFIX: t.prefix, RESULT_TTL_SECONDS: 60 },
    redis: t.redis,
    model: createMockModel({ minLatencyMs: 0, maxLatencyMs: 0 }),
    apiKeys: [KEY],
  }));

  it('shows 401 before "Authorize", then runs POST /predict with the bearer key it was given', async () => {
    const page = tab().page;
    const op = operation(page, 'post', '/predict');
    await tryItOut(op);
    await op.locator('textarea.body-param__text').fill('{"input": "hello with a key"}');
    const refused = await execute(op);
    expect(refused.status).toBe('401');
    expect(JSON.parse(refused.body)).toEqual({
      error: 'This route needs an API key: send Authorization: Bearer <key>.',
      code: 'UNAUTHORIZED',
    });
    expect(refused.curl).not.toMatch(/authorization/i);

    // The page-wide "Authorize" button opens the bearer scheme's form.
    await page.locator('.auth-wrapper .authorize').click();
    const dialog = page.locator('.dialog-ux');
    await dialog.locator('#auth-bearer-value').fill(KEY);
    await dialog.locator('.auth-btn-wrapper .modal-btn.authorize').click();
    await dialog.locator('.auth-btn-wrapper .modal-btn', { hasText: 'Logout' }).waitFor();
    await dialog.locator('.btn-done').click();

    const served = await execute(op);
    expect(served.status).toBe('200');
    expect(JSON.parse(served.body)).toEqual({ input: 'hello with a key', result: mockResult('hello with a key') });
    expect(served.curl).toContain(`-H 'Authorization: Bearer ${KEY}'`);
  });

  it('marks the /predict operations as locked and leaves the probes open', async () => {
    const page = tab().page;
    const locked = (method: string, path: string) =>
      operation(page, method, path).locator('.opblock-summary .authorization__btn').count();
    expect(await locked('post', '/predict')).toBe(1);
    expect(await locked('get', '/predict/{prediction_id}')).toBe(1);
    expect(await locked('get', '/health')).toBe(0);
    expect(await locked('get', '/ready')).toBe(0);
  });
});

describe(
  'Swagger UI with the example model (@foretell/sentiment-model), in headless Chromium',
  { timeout: 60_000 },
  () => {
    const { tab } = useDocsInChromium(async (t) => {
      const model = await loadModel(SENTIMENT_MODEL_SETTINGS);
      await model.load?.();
      return {
        config: { ...loadApiConfig({}), KEY_PREFIX: t.prefix, RESULT_TTL_SECONDS: 60, SYNC_TIMEOUT_MS: 5000 },
        redis: t.redis,
        model,
      };
    });

    it("offers the model's own input example, runs it (200, the model's result), and refuses an input off its schema (400)", async () => {
      const page = tab().page;
      const op = operation(page, 'post', '/predict');
      // The 200 answer's example is the model's result schema, not the mock's strings.
      await op.locator('.opblock-summary-control').click();
      const example = op.locator('.responses-wrapper .response[data-code="200"] pre.example').first();
      await example.waitFor();
      expect(JSON.parse(visibleText(await example.textContent()))).toEqual({
        input: { text: 'I love this movie, the acting is great.' },
        result: { label: 'positive', score: 0.5 },
      });
      await op.locator('.opblock-summary-control').click();

      // Execute the body the UI filled in from the model's input schema, untouched.
      await tryItOut(op);
      const body = op.locator('textarea.body-param__text');
      expect(JSON.parse(await body.inputValue())).toEqual({
        input: { text: 'I love this movie, the acting is great.' },
      });
      const served = await execute(op);
      expect(served.status).toBe('200');
      expect(JSON.parse(served.body)).toEqual({
        input: { text: 'I love this movie, the acting is great.' },
        result: { label: 'positive', score: 0.485 },
      });

      // Cleared first: the next answer must not be read from the one still shown.
      await op.locator('button.btn-clear').click();
      await op.locator('.live-responses-table').waitFor({ state: 'detached' });
      await body.fill('{"input": {"text": ""}}');
      const refused = await execute(op);
      expect(refused.status).toBe('400');
      expect(JSON.parse(refused.body)).toHaveProperty('error');
    });
  },
);
