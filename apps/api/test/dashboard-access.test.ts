import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { bearer, clientWith, KEY_A, KEY_B, NOT_A_KEY, useKeyedApps } from './keyed-app.js';

const apps = useKeyedApps();

const DATA_ROUTES: [method: 'GET' | 'POST', url: string][] = [
  ['GET', '/dashboard/api/overview'],
  ['GET', '/dashboard/api/dead-letters'],
  ['POST', '/dashboard/api/dead-letters/1-1/replay'],
  ['GET', `/dashboard/api/jobs/${randomUUID()}`],
];

async function send(app: FastifyInstance, method: 'GET' | 'POST', url: string, key?: string) {
  const response = await app.inject({ method, url, headers: key ? bearer(key) : {} });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>(), headers: response.headers };
}

/** The API key id a key's jobs are stored under, read from a job it submitted. */
async function ownerOf(app: FastifyInstance, key: string): Promise<{ owner: string; jobId: string }> {
  const jobId = await clientWith(app, bearer(key)).submit(`a job of ${key.slice(-6)}`);
  const owner = await apps.t.redis.hget(apps.t.keys.job(jobId), 'owner');
  if (owner === null) throw new Error('the job has no owner');
  return { owner, jobId };
}

describe('the dashboard with API keys on', () => {
  it.each(DATA_ROUTES)(
    '%s %s needs a key (401 with the challenge), and refuses one that is not a key',
    async (method, url) => {
      const app = await apps.build();
      const none = await send(app, method, url);
      expect([none.status, none.body.code, none.headers['www-authenticate']]).toEqual([
        401,
        'UNAUTHORIZED',
        'Bearer realm="foretell"',
      ]);
      const wrong = await send(app, method, url, NOT_A_KEY);
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_API_KEY']);
      expect((await send(app, method, url, KEY_A)).status).not.toBe(401);
    },
  );

  it('tells the page, always with 200, whether it needs a key and whether the one sent is accepted', async () => {
    const app = await apps.build();
    const access = (key?: string) => send(app, 'GET', '/dashboard/api/access', key);
    for (const [key, accepted] of [
      [undefined, false],
      [NOT_A_KEY, false],
      [KEY_A, true],
    ] as const) {
      const answer = await access(key);
      expect([answer.status, answer.body, answer.headers['www-authenticate']]).toEqual([
        200,
        { keyRequired: true, keyAccepted: accepted },
        undefined,
      ]);
    }
    const open = await apps.build({ apiKeys: [] });
    expect((await send(open, 'GET', '/dashboard/api/access')).body).toEqual({ keyRequired: false, keyAccepted: true });
  });

  it('serves the page itself without a key: it holds no data, and asks for one', async () => {
    const app = await apps.build();
    for (const url of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/vendor/uPlot.iife.min.js']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it("shows counts to every key, but one job's record only to its own key", async () => {
    const app = await apps.build();
    const { jobId } = await ownerOf(app, KEY_A);
    expect((await send(app, 'GET', '/dashboard/api/overview', KEY_B)).body).toMatchObject({ queue: { backlog: 1 } });
    expect((await send(app, 'GET', `/dashboard/api/jobs/${jobId}`, KEY_A)).body).toMatchObject({ id: jobId });
    const other = await send(app, 'GET', `/dashboard/api/jobs/${jobId}`, KEY_B);
    expect([other.status, other.body]).toEqual([404, { error: 'Prediction ID not found.', code: 'JOB_NOT_FOUND' }]);
    // The owner is never shown, even to itself.
    expect((await send(app, 'GET', `/dashboard/api/jobs/${jobId}`, KEY_A)).body).not.toHaveProperty('owner');
  });

  it("lists another key's dead letters without their job, and does not let it replay them", async () => {
    const app = await apps.build();
    const { redis, keys } = apps.t;
    const [a, b] = [await ownerOf(app, KEY_A), await ownerOf(app, KEY_B)];
    const letter = (owner: string) =>
      redis.xadd(keys.dead, '*', 'id', randomUUID(), 'input', `secret of ${owner}`, 'reason', 'r', 'owner', owner);
    const ofA = await letter(a.owner);
    const ofB = await letter(b.owner);
    const poison = await redis.xadd(keys.dead, '*', 'entry', '1-0', 'reason', 'odd number of fields', 'fields', '[]');

    const listed = await send(app, 'GET', '/dashboard/api/dead-letters', KEY_A);
    const at = (id: string | null) => Number(String(id).split('-')[0]);
    expect(listed.body).toEqual({
      total: 3,
      letters: [
        {
          entryId: ofA,
          at: at(ofA),
          owned: true,
          replayable: true,
          reason: 'r',
          jobId: expect.any(String) as string,
          input: `secret of ${a.owner}`,
        },
        { entryId: ofB, at: at(ofB), owned: false, replayable: false },
        // An entry that did not parse has no owner: with keys on it is nobody's.
        { entryId: poison, at: at(poison), owned: false, replayable: false },
      ],
    });

    const refused = await send(app, 'POST', `/dashboard/api/dead-letters/${ofB}/replay`, KEY_A);
    expect([refused.status, refused.body]).toEqual([
      404,
      { error: 'Dead letter not found.', code: 'DEAD_LETTER_NOT_FOUND' },
    ]);
    expect(await redis.xlen(keys.dead)).toBe(3);
    expect((await send(app, 'POST', `/dashboard/api/dead-letters/${ofB}/replay`, KEY_B)).status).toBe(200);
    expect((await send(app, 'POST', `/dashboard/api/dead-letters/${ofA}/replay`, KEY_A)).status).toBe(200);
    expect(await redis.xlen(keys.dead)).toBe(1);
  });
});

describe('DASHBOARD=false', () => {
  it('registers none of the routes: each is a plain 404, and the document lists none', async () => {
    const app = await apps.build({ apiKeys: [], config: { DASHBOARD: 'false' } });
    const urls = ['/dashboard', '/dashboard/dashboard.js', '/dashboard/vendor/uPlot.iife.min.js'];
    for (const url of urls) {
      expect(await send(app, 'GET', url), url).toMatchObject({
        status: 404,
        body: { error: 'Route not found.', code: 'ROUTE_NOT_FOUND' },
      });
    }
    for (const [method, url] of [...DATA_ROUTES, ['GET', '/dashboard/api/access'] as const]) {
      expect((await send(app, method, url)).body, url).toEqual({ error: 'Route not found.', code: 'ROUTE_NOT_FOUND' });
    }
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: object }>();
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/dashboard'))).toEqual([]);
  });
});
