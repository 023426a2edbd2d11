// The OpenAPI document as client generators see it: /docs/json of the API
// built in-process and listening on 127.0.0.1 (real Redis, no consumer) is
// linted by Redocly CLI with its recommended rules, turned into TypeScript
// types by openapi-typescript, and a client over those types (openapi-fetch,
// test/fixtures/openapi-client/every-operation.ts) is type-checked with tsc
// beside them, then calls every operation of the same server.
//
// The generated file is written to a temporary folder, not committed: it is
// checked fresh against the document of this very build, so it can never be a
// stale copy, and a change of wording in a description churns no file.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORETELL_VERSION } from '@foretell/shared';
import type { FastifyInstance } from 'fastify';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { buildTestApp } from './build-test-app.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLIENT = join(ROOT, 'test/fixtures/openapi-client/every-operation.ts');
const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What every-operation.ts reports (its own `Answers`, checked there against the generated types). */
type Answers = Record<string, Record<string, unknown> & { status: number }> & {
  createPredictionAsync: { status: number; predictionId?: string };
};

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

let t: TestRedis | undefined;
let app: FastifyInstance | undefined;
let dir: string | undefined;
let base: string;
let doc: { paths: Record<string, Record<string, { operationId?: string }>> };
let documentFile: string;

beforeAll(async () => {
  t = testRedis();
  app = await buildTestApp(t.redis, t.prefix);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const response = await fetch(`${base}/docs/json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as typeof doc;
  // Under node_modules/.cache: the client's `openapi-fetch` resolves from the repository's node_modules.
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'node_modules/.cache/foretell-openapi-'));
  documentFile = join(dir, 'openapi.json');
  writeFileSync(documentFile, JSON.stringify(doc, null, 2));
});

afterAll(async () => {
  try {
    await app?.close();
  } finally {
    await t?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe('the OpenAPI document, for client generators', () => {
  it('gives every operation a stable operationId', () => {
    const ids = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation.operationId]),
    );
    expect(Object.fromEntries(ids)).toEqual({
      'POST /predict': 'createPrediction',
      'GET /predict/{prediction_id}': 'getPrediction',
      'POST /predict/{prediction_id}/cancel': 'cancelPrediction',
      'GET /predict/{prediction_id}/events': 'streamPredictionEvents',
      'GET /health': 'getHealth',
      'GET /ready': 'getReadiness',
      'GET /metrics': 'getMetrics',
      'GET /dashboard': 'getDashboardPage',
      'GET /dashboard/api/access': 'getDashboardAccess',
      'GET /dashboard/api/overview': 'getDashboardOverview',
      'GET /dashboard/api/dead-letters': 'listDeadLetters',
      'POST /dashboard/api/dead-letters/{entryId}/replay': 'replayDeadLetter',
      'GET /dashboard/api/jobs/{id}': 'getDashboardJob',
    });
  });

  it("passes Redocly's recommended rules with no error, and only the warnings explained here", async () => {
    // No telemetry and no update check: the run needs no network.
    const lint = await run([REDOCLY, 'lint', '--extends', 'recommended', '--format', 'json', documentFile], ROOT, {
      REDOCLY_TELEMETRY: 'off',
      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    });
    const report = JSON.parse(lint.stdout) as LintReport;
    const errors = report.problems.filter((problem) => problem.severity === 'error');
    expect(errors).toEqual([]);
    expect(lint.code).toBe(0);
    const warnings = report.problems.map((problem) => `${problem.ruleId} ${problem.location[0]?.pointer ?? ''}`);
    expect(warnings.sort()).toEqual(
      [
        // The second server is where `npm start` and docker compose listen: localhost is meant.
        'no-server-example.com #/servers/1/url',
        // The probes, /metrics and the dashboard's page and read-only overview take no input (no parameter,
        // no body): no 4XX of their own to document. Every route can answer 408 and 431 at the HTTP edge,
        // which the operations with input document.
        'operation-4xx-response #/paths/~1health/get/responses',
        'operation-4xx-response #/paths/~1ready/get/responses',
        'operation-4xx-response #/paths/~1metrics/get/responses',
        'operation-4xx-response #/paths/~1dashboard/get/responses',
        'operation-4xx-response #/paths/~1dashboard~1api~1access/get/responses',
        'operation-4xx-response #/paths/~1dashboard~1api~1overview/get/responses',
      ].sort(),
    );
  });

  it('generates a typed client that compiles and calls every operation of a real service', async () => {
    const folder = dir!;
    // A copy: the generator may annotate what it is given.
    const document = JSON.parse(JSON.stringify(doc)) as Parameters<typeof openapiTS>[0];
    // schema.ts, not .d.ts: it is type-checked in full, while skipLibCheck spares tsc the
    // libraries' own declarations (DOM's among them: 3.7 of its 4.8 s), as the repository's tsconfig does.
    writeFileSync(join(folder, 'schema.ts'), astToString(await openapiTS(document)));
    copyFileSync(CLIENT, join(folder, 'every-operation.ts'));
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: false,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          lib: ['ES2023', 'DOM'],
          types: [],
          skipLibCheck: true,
          noEmit: true,
        },
        files: ['every-operation.ts', 'schema.ts'],
      }),
    );
    const tsc = await run([TSC, '-p', 'tsconfig.json'], folder);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);

    // The consumer group exists (as a consumer makes it), so /ready is 200; no consumer runs, so a job stays queued.
    await t!.redis.xgroup('CREATE', t!.keys.jobs, t!.keys.group, '$', 'MKSTREAM');
    // Imported by path, not by name: the repository's type-check must not follow it to `./schema.js`.
    const client = (await import(CLIENT)) as { callEveryOperation: (baseUrl: string) => Promise<Answers> };
    const answers = await client.callEveryOperation(base);
    const id = answers.createPredictionAsync.predictionId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answers).toEqual({
      getHealth: { status: 200, version: FORETELL_VERSION },
      getReadiness: { status: 200, ready: 'ready' },
      getMetrics: { status: 200, text: expect.stringContaining('foretell_predictions_total') as string },
      createPredictionSync: { status: 200, result: expect.stringMatching(/^\d+$/) as string },
      createPredictionAsync: { status: 202, predictionId: id, location: `/predict/${id!}` },
      getPrediction: { status: 400, error: 'Prediction is still being processed.' },
      cancelPrediction: { status: 200, status_: 'canceled' },
      getPredictionCanceled: { status: 409, status_: 'canceled' },
      streamPredictionEvents: { status: 200, text: expect.stringContaining('event: canceled') as string },
      getDashboardPage: { status: 200, text: expect.stringContaining('<html') as string },
      getDashboardAccess: { status: 200, keyRequired: false },
      // The canceled job's entry stays in the stream until a consumer reads it and drops it.
      getDashboardOverview: { status: 200, backlog: 1 },
      listDeadLetters: { status: 200, total: 0 },
      replayDeadLetter: { status: 404, code: 'DEAD_LETTER_NOT_FOUND' },
      getDashboardJob: { status: 200, jobStatus: 'canceled' },
    });
  });
});
