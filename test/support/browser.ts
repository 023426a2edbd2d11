import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, findSystemCommand } from '../../scripts/lib/run.mjs';

/**
 * The Chromium `npm test` would use (CHROMIUM_PATH, else the first found of
 * run.mjs's list, its headless shell first); Playwright's own browsers are
 * never downloaded.
 */
export const CHROMIUM_PATH: string = process.env.CHROMIUM_PATH || findSystemCommand(CHROMIUM) || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface LocalPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests the page tried to make to any other origin (each was aborted). */
  readonly offsite: string[];
  /** Uncaught errors thrown by the page's scripts. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/**
 * A fresh context and page that may only talk to `origin`: anything else is
 * aborted and recorded, so a test never depends on (or leaks to) the network.
 */
export async function openLocalPage(browser: Browser, origin: string): Promise<LocalPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1024 } });
  const offsite: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page, offsite, pageErrors, close: () => context.close() };
}
