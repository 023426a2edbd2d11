import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { packageDirOf } from '@foretell/shared';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** The page's own files: beside `src` and `dist` in the API's package, which the image build takes whole. */
const PAGE_DIR = join(packageDirOf(import.meta.url), 'dashboard');

/**
 * uPlot's own built files, from the installed package: nothing is copied into
 * the repository or fetched from a CDN, so the page works offline. Resolved
 * when the app is built: a missing package fails the start, not a page load.
 */
function uplotDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

/**
 * No inline script or style, nothing from another origin: the page runs only
 * its own files and uPlot's, and talks only to this API. uPlot sizes its
 * elements through `element.style`, which style-src does not govern.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', DASHBOARD_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-cache');
}

/** Each file the page loads, by URL: exactly these, no directory is served. */
const ASSETS: Record<string, { readonly file: string; readonly from: 'page' | 'uplot' }> = {
  '/dashboard/dashboard.js': { file: 'dashboard.js', from: 'page' },
  '/dashboard/dashboard.css': { file: 'dashboard.css', from: 'page' },
  '/dashboard/vendor/uPlot.iife.min.js': { file: 'uPlot.iife.min.js', from: 'uplot' },
  '/dashboard/vendor/uPlot.min.css': { file: 'uPlot.min.css', from: 'uplot' },
};

/**
 * GET /dashboard and its files. Public even with API keys: the shell holds
 * no data; the page asks for a key and sends it to /dashboard/api/*.
 */
export const dashboardPageRoutes: FastifyPluginAsync = async (app) => {
  const roots = { page: PAGE_DIR, uplot: uplotDir() };
  // Only `reply.sendFile`, in this plugin's scope: the routes are declared below.
  await app.register(fastifyStatic, { root: PAGE_DIR, serve: false, cacheControl: false });

  app.get(
    '/dashboard',
    {
      schema: {
        operationId: 'getDashboardPage',
        tags: ['dashboard'],
        summary: 'The dashboard page (HTML); its data comes from /dashboard/api/*',
        produces: ['text/html'],
        response: {
          200: {
            description: 'The page; with API keys on it asks for one, kept in the tab’s sessionStorage.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    (_request, reply) => secure(reply).sendFile('index.html', roots.page),
  );

  for (const [url, { file, from }] of Object.entries(ASSETS)) {
    app.get(url, { schema: { hide: true } }, (_request, reply) => secure(reply).sendFile(file, roots[from]));
  }
};
