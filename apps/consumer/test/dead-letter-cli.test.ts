import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mockResult } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { harnessPool, type Harness } from './consumer-harness.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

/** Runs the built CLI as an operator would, on the test's Redis and prefix. */
async function foretell(h: Harness, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', REDIS_URL: h.url, KEY_PREFIX: h.prefix };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A job that failed for good (its model always throws), and a poison entry, both dead-lettered. */
async function deadLetters(): Promise<{ h: Harness; jobId: string; poisonEntry: string }> {
  const h = harnesses.create({
    model: { predict: () => Promise.reject(new Error('model offline')) },
    settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
  });
  await h.consumer.start();
  const jobId = await h.enqueue('needs a second chance');
  const poisonEntry = (await h.redis.xadd(h.keys.jobs, '*', 'garbage', 'x')) ?? '';
  await waitFor(async () => (await h.redis.xlen(h.keys.dead)) === 2, { what: 'two dead letters' });
  await h.consumer.close();
  return { h, jobId, poisonEntry };
}

describe('pnpm foretell dead', () => {
  it('lists dead letters with their job, attempts and reason', async () => {
    const { h, jobId } = await deadLetters();
    const table = await foretell(h, 'dead', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(jobId);
    expect(table.stdout).toContain('model offline');
    expect(table.stdout).toContain('invalid job message');
    expect(table.stdout).toContain('2 dead letter(s)');

    const json = await foretell(h, 'dead', 'list', '--json');
    const letters = JSON.parse(json.stdout) as { jobId?: string; reason: string; attempts?: number }[];
    expect(letters).toHaveLength(2);
    expect(letters.find((letter) => letter.jobId === jobId)).toMatchObject({
      input: 'needs a second chance',
      reason: 'model offline',
      attempts: 1,
    });
    expect(letters.find((letter) => letter.jobId === undefined)?.reason).toMatch(/^invalid job message/);
  });

  it('replays one dead job: it is queued again and a consumer finishes it', async () => {
    const { h, jobId } = await deadLetters();
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    const entryId = dead.find(([, fields]) => fields[1] === jobId)?.[0] ?? '';
    const replay = await foretell(h, 'dead', 'replay', entryId);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`as job ${jobId}: queued again`);
    expect(await h.redis.hgetall(h.keys.job(jobId))).toMatchObject({ status: 'queued', attempts: '0' });
    expect(await h.redis.hexists(h.keys.job(jobId), 'reason')).toBe(0);
    expect(await h.redis.xlen(h.keys.dead)).toBe(1);

    const healthy = harnesses.create({ prefix: h.prefix });
    await healthy.consumer.start();
    await waitFor(async () => (await h.redis.hget(h.keys.job(jobId), 'status')) === 'succeeded', { what: 'done' });
    expect(await h.redis.hget(h.keys.job(jobId), 'result')).toBe(mockResult('needs a second chance'));
  });

  it('replays all that can be, and leaves entries that name no job', async () => {
    const { h, jobId, poisonEntry } = await deadLetters();
    const replay = await foretell(h, 'dead', 'replay', '--all');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('replayed 1, skipped 1');
    expect(await h.redis.hget(h.keys.job(jobId), 'status')).toBe('queued');
    const left = await h.redis.xrange(h.keys.dead, '-', '+');
    expect(left.map(([, fields]) => fields[1])).toEqual([poisonEntry]);
  });

  it('says what is wrong, with a non-zero exit, for an unknown entry or command', async () => {
    const { h } = await deadLetters();
    const unknown = await foretell(h, 'dead', 'replay', '1-1');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('foretell: no dead entry 1-1\n');
    const usage = await foretell(h, 'alive');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: foretell dead list/);
  });
});
