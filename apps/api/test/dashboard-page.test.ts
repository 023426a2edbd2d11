import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../src/dashboard/page-routes.js';
import { useTestApp } from './build-test-app.js';
import { useKeyedApps } from './keyed-app.js';

const ctx = useTestApp();
const keyed = useKeyedApps();
const uplot = (file: string) => readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${file}`));

interface Operation {
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

describe('the dashboard page', () => {
  it.each([
    ['/dashboard', 'text/html; charset=utf-8'],
    ['/dashboard/dashboard.js', 'application/javascript; charset=utf-8'],
    ['/dashboard/dashboard.css', 'text/css; charset=utf-8'],
    ['/dashboard/vendor/uPlot.iife.min.js', 'application/javascript; charset=utf-8'],
    ['/dashboard/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s, under the strict Content-Security-Policy', async (url, type) => {
    const response = await ctx.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(type);
    expect(response.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it("serves uPlot's own files from its installed package, byte for byte", async () => {
    for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
      const response = await ctx.app.inject({ method: 'GET', url: `/dashboard/vendor/${file}` });
      expect(response.rawPayload.equals(uplot(file)), file).toBe(true);
    }
  });

  it('allows no inline script or style, nothing from another origin, and the page needs none', async () => {
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("style-src 'self'");
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    const html = (await ctx.app.inject({ method: 'GET', url: '/dashboard' })).body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|<style/i);
    // Every file it names is one of ours, on this origin.
    const named = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url);
    expect(named.filter((url) => url !== 'data:,' && !url?.startsWith('/dashboard/'))).toEqual([]);
  });

  it('is in the image: Dockerfile.api copies apps/api whole (the page folder too), and uPlot is a production dependency', () => {
    const root = new URL('../../../', import.meta.url);
    expect(readFileSync(new URL('Dockerfile.api', root), 'utf8')).toMatch(/^COPY apps\/api apps\/api$/m);
    const ignored = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n');
    expect(ignored.filter((line) => /dashboard|\.html|\.css|^\*\*\/\*\.js/.test(line))).toEqual([]);
    const manifest = JSON.parse(readFileSync(new URL('apps/api/package.json', root), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).toEqual(expect.arrayContaining(['uplot', '@fastify/static']));
  });

  it('serves only the files it names: no directory listing, no other file of the package or the folder', async () => {
    for (const url of [
      '/dashboard/',
      '/dashboard/index.html',
      '/dashboard/vendor/uPlot.cjs.js',
      '/dashboard/vendor/',
      '/dashboard/../package.json',
      '/dashboard/vendor/..%2F..%2Fpackage.json',
    ]) {
      const response = await ctx.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
    }
  });
});

describe('the dashboard in the OpenAPI document', () => {
  const paths = {
    '/dashboard': ['get', ['200']],
    '/dashboard/api/access': ['get', ['200']],
    '/dashboard/api/overview': ['get', ['200', '503']],
    '/dashboard/api/dead-letters': ['get', ['200', '400', '503']],
    '/dashboard/api/dead-letters/{entryId}/replay': ['post', ['200', '400', '404', '409', '503']],
    '/dashboard/api/jobs/{id}': ['get', ['200', '400', '404', '503']],
  } as const;

  it('lists its routes under the tag "dashboard", each status with a schema', async () => {
    const document = (await ctx.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>;
      tags: { name: string }[];
    }>();
    expect(document.tags.map((tag) => tag.name)).toContain('dashboard');
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/dashboard'))).toEqual(Object.keys(paths));
    for (const [path, [method, statuses]] of Object.entries(paths)) {
      const operation = document.paths[path]?.[method];
      expect(operation?.tags, path).toEqual(['dashboard']);
      expect(Object.keys(operation?.responses ?? {}).sort(), path).toEqual([...statuses]);
      for (const status of statuses) {
        const content = operation?.responses[status]?.content ?? {};
        expect(Object.values(content)[0]?.schema, `${path} ${status}`).toBeTypeOf('object');
      }
    }
  });

  it('with API keys on, names the bearer scheme and the 401 of each data route, not of the page or its access check', async () => {
    const app = await keyed.build();
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    for (const [path, [method]] of Object.entries(paths)) {
      const operation = document.paths[path]?.[method];
      const keyedRoute = path !== '/dashboard' && path !== '/dashboard/api/access';
      expect(Object.keys(operation?.responses ?? {}).includes('401'), path).toBe(keyedRoute);
      expect(operation?.security, path).toEqual(keyedRoute ? [{ apiKey: [] }] : undefined);
    }
  });
});
