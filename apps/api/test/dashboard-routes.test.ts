import { randomUUID } from 'node:crypto';
import {
  encodeStatsSnapshot,
  modelRef,
  MOCK_MODEL,
  STATS_STALE_MS,
  type ConsumerStatsSnapshot,
} from '@foretell/shared';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './build-test-app.js';

const ctx = useTestApp();

async function get(url: string) {
  const response = await ctx.app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function post(url: string) {
  const response = await ctx.app.inject({ method: 'POST', url });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const BOUNDS = [0.1, 1];

function snapshot(at: number, overrides: Partial<ConsumerStatsSnapshot> = {}): ConsumerStatsSnapshot {
  return {
    v: 1,
    at,
    started: at - 60_000,
    inFlight: 2,
    jobs: { succeeded: 10, failed: 1, retried: 2, reclaimed: 0, expired: 0, poison: 0 },
    model: { bounds: BOUNDS, counts: [4, 10, 11], sum: 3.5 },
    ...overrides,
  };
}

const NO_JOBS = { succeeded: 0, failed: 0, retried: 0, reclaimed: 0, expired: 0, poison: 0 };

/** A dead letter as the consumer writes one for a stream entry that did not parse: it names no job. */
function addUnparsedLetter(redis: Redis, deadStream: string): Promise<string | null> {
  return redis.xadd(deadStream, '*', 'entry', '1-0', 'reason', 'odd number of fields', 'fields', '["id"]');
}

describe('GET /dashboard/api/overview', () => {
  it('is all zeros for a deployment that never ran', async () => {
    expect(await get('/dashboard/api/overview')).toEqual({
      status: 200,
      body: {
        at: expect.any(Number) as number,
        queue: { backlog: 0, inFlight: 0, pending: 0, lag: 0, oldestAgeSeconds: 0, retries: 0, deadLetters: 0 },
        consumers: [],
        consumersTotal: 0,
        stats: { bounds: [], totals: { jobs: NO_JOBS, model: { counts: [0], sum: 0 } }, instances: [] },
      },
    });
  });

  it("gives the queue's counts, the group's consumers, and the sums of the fresh snapshots; drops the stale ones", async () => {
    const { redis, keys } = ctx.t;
    await redis.xgroup('CREATE', keys.jobs, keys.group, '$', 'MKSTREAM');
    for (const input of ['a', 'b', 'c']) await redis.xadd(keys.jobs, '*', 'id', randomUUID(), 'input', input);
    // c-a takes two entries (pending); the third is not delivered yet (lag); c-b has none.
    await redis.xreadgroup('GROUP', keys.group, 'c-a', 'COUNT', 2, 'STREAMS', keys.jobs, '>');
    await redis.xgroup('CREATECONSUMER', keys.jobs, keys.group, 'c-b');
    await redis.zadd(keys.retries, 1, 'r1', 2, 'r2');
    await redis.xadd(keys.dead, '*', 'id', randomUUID(), 'input', 'x', 'reason', 'boom', 'attempts', '3');

    const now = Date.now();
    const a = snapshot(now);
    const b = snapshot(now - 1000, {
      inFlight: 0,
      jobs: { succeeded: 5, failed: 0, retried: 0, reclaimed: 1, expired: 1, poison: 1 },
      model: { bounds: BOUNDS, counts: [1, 5, 5], sum: 1.5 },
    });
    await redis.hset(keys.stats, {
      'c-a': encodeStatsSnapshot(a),
      'c-b': encodeStatsSnapshot(b),
      // Another version's histogram: fresh, but not summed with the others.
      'c-other-bounds': encodeStatsSnapshot(snapshot(now, { model: { bounds: [5], counts: [1, 1], sum: 1 } })),
      'c-gone': encodeStatsSnapshot(snapshot(now - STATS_STALE_MS - 1000)),
      'not-a-snapshot': 'hello',
      'too-big': JSON.stringify({ ...snapshot(now), padding: 'x'.repeat(5000) }),
    });

    const { status, body } = await get('/dashboard/api/overview');
    expect(status).toBe(200);
    const instance = (name: string, s: ConsumerStatsSnapshot) => ({
      name,
      started: s.started,
      at: s.at,
      inFlight: s.inFlight,
      jobs: s.jobs,
      model: { counts: s.model.counts, sum: s.model.sum },
    });
    expect(body).toEqual({
      at: expect.any(Number) as number,
      queue: {
        backlog: 3,
        inFlight: 2,
        pending: 2,
        lag: 1,
        oldestAgeSeconds: expect.any(Number) as number,
        retries: 2,
        deadLetters: 1,
      },
      consumers: [
        { name: 'c-a', pending: 2, idleMs: expect.any(Number) as number, inFlight: 2 },
        { name: 'c-b', pending: 0, idleMs: expect.any(Number) as number, inFlight: 0 },
      ],
      consumersTotal: 2,
      stats: {
        bounds: BOUNDS,
        totals: {
          jobs: { succeeded: 15, failed: 1, retried: 2, reclaimed: 1, expired: 1, poison: 1 },
          model: { counts: [5, 15, 16], sum: 5 },
        },
        instances: [instance('c-a', a), instance('c-b', b)],
      },
    });
    // The stale and foreign fields are gone; the fresh ones stay.
    expect((await redis.hkeys(keys.stats)).sort()).toEqual(['c-a', 'c-b', 'c-other-bounds']);
  });

  it('lists at most 100 consumers, the first by name, and says how many there are', async () => {
    const { redis, keys } = ctx.t;
    await redis.xgroup('CREATE', keys.jobs, keys.group, '$', 'MKSTREAM');
    const names = Array.from({ length: 105 }, (_, i) => `c-${String(i).padStart(3, '0')}`);
    await Promise.all(names.map((name) => redis.xgroup('CREATECONSUMER', keys.jobs, keys.group, name)));
    const { body } = await get('/dashboard/api/overview');
    const listed = body.consumers as { name: string }[];
    expect(listed.map((consumer) => consumer.name)).toEqual(names.slice(0, 100));
    expect(body.consumersTotal).toBe(105);
  });
});

describe('GET /dashboard/api/dead-letters', () => {
  it('lists the oldest letters with their reasons; a poison entry is listed but cannot be replayed', async () => {
    const { redis, keys } = ctx.t;
    const jobId = randomUUID();
    const failed = await redis.xadd(
      keys.dead,
      '*',
      'id',
      jobId,
      'input',
      'needs a second chance',
      'reason',
      'the model said no',
      'attempts',
      '3',
      'model',
      'abcd1234',
    );
    const poison = await addUnparsedLetter(redis, keys.dead);
    const long = await redis.xadd(
      keys.dead,
      '*',
      'id',
      randomUUID(),
      'input',
      'y'.repeat(5000),
      'reason',
      'r'.repeat(1200),
    );

    const { status, body } = await get('/dashboard/api/dead-letters');
    expect(status).toBe(200);
    const at = (id: string | null) => Number(String(id).split('-')[0]);
    expect(body).toEqual({
      total: 3,
      letters: [
        {
          entryId: failed,
          at: at(failed),
          owned: true,
          replayable: true,
          reason: 'the model said no',
          jobId,
          input: 'needs a second chance',
          attempts: 3,
          model: 'abcd1234',
        },
        { entryId: poison, at: at(poison), owned: true, replayable: false, reason: 'odd number of fields' },
        {
          entryId: long,
          at: at(long),
          owned: true,
          replayable: true,
          reason: `${'r'.repeat(1000)}…`,
          jobId: expect.any(String) as string,
          input: `${'y'.repeat(1000)}…`,
        },
      ],
    });
    const page = await get('/dashboard/api/dead-letters?count=1');
    expect(page.body).toEqual({ total: 3, letters: [(body.letters as unknown[])[0]] });
  });

  it.each([
    ['count=0'],
    ['count=51'],
    ['count=-1'],
    ['count=1.5'],
    ['count=abc'],
    ['count='],
    ['count=1e1'],
    ['count=99999999999999999999'],
  ])('refuses %s with 400', async (query) => {
    expect(await get(`/dashboard/api/dead-letters?${query}`)).toEqual({
      status: 400,
      body: {
        error: 'Invalid request: querystring/count must be a whole number from 1 to 50.',
        code: 'INVALID_REQUEST',
      },
    });
  });

  it.each([['cursor=1'], ['count=1&count=2']])(
    'refuses %s (an unknown or repeated parameter) with 400',
    async (query) => {
      const { status, body } = await get(`/dashboard/api/dead-letters?${query}`);
      expect([status, body.code]).toEqual([400, 'INVALID_REQUEST']);
    },
  );
});

describe('POST /dashboard/api/dead-letters/{entryId}/replay', () => {
  it('queues the job again (its hash recreated), removes the letter, and the search shows it queued', async () => {
    const { redis, keys } = ctx.t;
    const jobId = randomUUID();
    const entryId = await redis.xadd(keys.dead, '*', 'id', jobId, 'input', 'again', 'reason', 'boom', 'attempts', '3');

    expect(await post(`/dashboard/api/dead-letters/${entryId}/replay`)).toEqual({
      status: 200,
      body: { entryId, jobId, status: 'queued' },
    });
    expect(await redis.xlen(keys.dead)).toBe(0);
    expect(await redis.hgetall(keys.job(jobId))).toMatchObject({ status: 'queued', input: 'again', attempts: '0' });
    const [[, fields] = ['', []]] = await redis.xrange(keys.jobs, '-', '+');
    expect(fields).toEqual(['id', jobId, 'input', 'again']);

    expect(await get(`/dashboard/api/jobs/${jobId}`)).toEqual({
      status: 200,
      body: {
        id: jobId,
        status: 'queued',
        input: 'again',
        attempts: 0,
        created: expect.any(Number) as number,
        expiresInSeconds: 3600,
      },
    });
    // Once only.
    expect(await post(`/dashboard/api/dead-letters/${entryId}/replay`)).toEqual({
      status: 404,
      body: { error: 'Dead letter not found.', code: 'DEAD_LETTER_NOT_FOUND' },
    });
  });

  it('answers 404 for an unknown letter and 409 for one that names no job, which stays', async () => {
    const { redis, keys } = ctx.t;
    expect(await post('/dashboard/api/dead-letters/1-1/replay')).toEqual({
      status: 404,
      body: { error: 'Dead letter not found.', code: 'DEAD_LETTER_NOT_FOUND' },
    });
    const poison = await addUnparsedLetter(redis, keys.dead);
    expect(await post(`/dashboard/api/dead-letters/${poison}/replay`)).toEqual({
      status: 409,
      body: { error: 'This dead letter names no valid job; it cannot be replayed.', code: 'NOT_REPLAYABLE' },
    });
    expect(await redis.xlen(keys.dead)).toBe(1);
  });

  it.each([['abc'], ['1-1-1'], ['-1'], ['1-'], ['1-x'], [`${'9'.repeat(21)}-0`], ['%20'], ['1'.repeat(8000)]])(
    'refuses the entry id %s with 400',
    async (entryId) => {
      expect(await post(`/dashboard/api/dead-letters/${entryId}/replay`)).toEqual({
        status: 400,
        body: {
          error: 'Invalid request: params/entryId must be a dead letter id such as 1767225600000-0.',
          code: 'INVALID_REQUEST',
        },
      });
    },
  );

  it('is a POST: a GET of it is no route', async () => {
    expect((await get('/dashboard/api/dead-letters/1-1/replay')).status).toBe(404);
  });
});

describe('GET /dashboard/api/jobs/{id}', () => {
  it("shows a finished job's record, with the model that made it", async () => {
    const { redis, keys } = ctx.t;
    const jobId = randomUUID();
    const ref = modelRef(MOCK_MODEL);
    await redis.hset(keys.models, ref, `${MOCK_MODEL.name} ${MOCK_MODEL.version}`);
    await redis.hset(keys.job(jobId), {
      status: 'succeeded',
      input: 'hello',
      result: '12345',
      attempts: '1',
      finished: '1767225600000',
      model: ref,
    });
    await redis.expire(keys.job(jobId), 600);
    expect(await get(`/dashboard/api/jobs/${jobId}`)).toEqual({
      status: 200,
      body: {
        id: jobId,
        status: 'succeeded',
        input: 'hello',
        result: '12345',
        attempts: 1,
        finished: 1767225600000,
        model: { ref, name: 'mock', version: '1.0.0' },
        expiresInSeconds: 600,
      },
    });
  });

  it("shows a failed job's reason, but not the error of an attempt waiting for a retry", async () => {
    const { redis, keys } = ctx.t;
    const [failed, retrying] = [randomUUID(), randomUUID()];
    await redis.hset(keys.job(failed), { status: 'failed', input: 'x', reason: 'for good', attempts: '3' });
    await redis.hset(keys.job(retrying), { status: 'queued', input: 'x', reason: 'secret=hunter2', attempts: '1' });
    expect((await get(`/dashboard/api/jobs/${failed}`)).body).toMatchObject({ status: 'failed', reason: 'for good' });
    expect((await get(`/dashboard/api/jobs/${retrying}`)).body).not.toHaveProperty('reason');
  });

  it('a job submitted through POST /predict shows its request id', async () => {
    const id = await ctx.client.submit('from the API', { 'x-request-id': 'req-1234' });
    expect((await get(`/dashboard/api/jobs/${id}`)).body).toMatchObject({
      id,
      status: 'queued',
      input: 'from the API',
      requestId: 'req-1234',
    });
  });

  it('answers 404 for an id it does not have', async () => {
    expect(await get(`/dashboard/api/jobs/${randomUUID()}`)).toEqual({
      status: 404,
      body: { error: 'Prediction ID not found.', code: 'JOB_NOT_FOUND' },
    });
  });

  it.each([['abc'], [`${randomUUID()}0`], [`${randomUUID().slice(1)}`], ['x'.repeat(10_000)], ['..%2F..%2Fetc']])(
    'refuses the id %s with 400',
    async (id) => {
      expect(await get(`/dashboard/api/jobs/${id}`)).toEqual({
        status: 400,
        body: { error: 'Invalid request: params/id must be a prediction id (a UUID).', code: 'INVALID_REQUEST' },
      });
    },
  );

  it.each([['x'.repeat(20_000)], ['%zz']])(
    'answers a malformed or over-long id (%#) with a 4xx JSON error',
    async (id) => {
      const { status, body } = await get(`/dashboard/api/jobs/${id}`);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(body.error).toEqual(expect.any(String));
    },
  );
});
