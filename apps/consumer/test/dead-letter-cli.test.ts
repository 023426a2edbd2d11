import { mockResult, modelRef } from '@foretell/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.js';
import { foretell as runForetell, type CliRun } from './cli-run.js';
import { harnessPool, type Harness } from './consumer-harness.js';

const harnesses = harnessPool();

afterEach(() => harnesses.disposeAll());

/** Runs the built CLI as an operator would, on the test's Redis and prefix. */
function foretell(h: Harness, ...args: string[]): Promise<CliRun> {
  return runForetell(args, { REDIS_URL: h.url, KEY_PREFIX: h.prefix });
}

/** A job that failed for good (its model always throws), and a poison entry, both dead-lettered. */
async function deadLetters(): Promise<{ h: Harness; jobId: string; poisonEntry: string }> {
  const h = harnesses.create({
    model: { name: 'offline', version: '1', predict: () => Promise.reject(new Error('model offline')) },
    settings: { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
  });
  await h.consumer.start();
  const jobId = await h.enqueue('needs a second chance');
  const poisonEntry = (await h.redis.xadd(h.keys.jobs, '*', 'garbage', 'x')) ?? '';
  await waitFor(async () => (await h.redis.xlen(h.keys.dead)) === 2, { what: 'two dead letters' });
  await h.consumer.close();
  return { h, jobId, poisonEntry };
}

describe('foretell dead (the built CLI)', () => {
  it('lists dead letters with their job, attempts and reason', async () => {
    const { h, jobId } = await deadLetters();
    const table = await foretell(h, 'dead', 'list');
    expect([table.code, table.stderr]).toEqual([0, '']);
    expect(table.stdout).toContain(jobId);
    expect(table.stdout).toContain('model offline');
    // The model column names the model that failed the job, from {prefix}:models.
    expect(table.stdout.split('\n')[0]).toMatch(/attempts {2}model {17}reason/);
    expect(table.stdout.split('\n').find((line) => line.includes(jobId))).toMatch(/ offline 1 {13}model offline/);
    expect(table.stdout).toContain('invalid job message');
    expect(table.stdout.split('\n').at(-2)).toBe('2 dead letter(s)');

    const json = await foretell(h, 'dead', 'list', '--json');
    expect([json.code, json.stderr]).toEqual([0, '']);
    const letters = JSON.parse(json.stdout) as { jobId?: string; reason: string; attempts?: number }[];
    expect(letters).toHaveLength(2);
    expect(letters.find((letter) => letter.jobId === jobId)).toMatchObject({
      input: 'needs a second chance',
      reason: 'model offline',
      attempts: 1,
      // The model that failed it, by its ref in {prefix}:models.
      model: modelRef({ name: 'offline', version: '1' }),
    });
    expect(letters.find((letter) => letter.jobId === undefined)?.reason).toMatch(/^invalid job message/);
  });

  it('--json through `npm run -s foretell --` prints the JSON alone on stdout, as node dist/cli.js does', async () => {
    const { h } = await deadLetters();
    const env = { REDIS_URL: h.url, KEY_PREFIX: h.prefix };
    const [viaNpm, viaNode] = await Promise.all([
      runForetell(['dead', 'list', '--json'], env, 'npm'),
      runForetell(['dead', 'list', '--json'], env, 'node'),
    ]);
    expect([viaNpm.code, viaNpm.stderr]).toEqual([0, '']);
    // The whole of stdout parses: no banner of npm's before it, nothing after.
    expect(JSON.parse(viaNpm.stdout)).toHaveLength(2);
    expect(viaNpm.stdout).toBe(viaNode.stdout);
  });

  it('says when --count cut the list short, and how to see it all', async () => {
    const { h } = await deadLetters();
    const [[oldest]] = (await h.redis.xrange(h.keys.dead, '-', '+', 'COUNT', 1)) as [[string, string[]]];
    const first = await foretell(h, 'dead', 'list', '--count', '1');
    expect([first.code, first.stderr]).toEqual([0, '']);
    const lines = first.stdout.trimEnd().split('\n');
    // Header, the oldest dead letter, the count.
    expect(lines).toHaveLength(3);
    expect(lines[1]?.startsWith(`${oldest} `)).toBe(true);
    expect(lines[2]).toBe('1 of 2 dead letter(s), the oldest; --count 2 lists them all');
  });

  it('replays one dead job: it is queued again and a consumer finishes it', async () => {
    const { h, jobId } = await deadLetters();
    const dead = await h.redis.xrange(h.keys.dead, '-', '+');
    const entryId = dead.find(([, fields]) => fields[1] === jobId)?.[0] ?? '';
    const replay = await foretell(h, 'dead', 'replay', entryId);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`as job ${jobId}: queued again`);
    expect(await h.redis.hgetall(h.keys.job(jobId))).toMatchObject({ status: 'queued', attempts: '0' });
    // What the failed run wrote is gone: its reason, and the model that failed it.
    expect(await h.redis.hexists(h.keys.job(jobId), 'reason')).toBe(0);
    expect(await h.redis.hexists(h.keys.job(jobId), 'model')).toBe(0);
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

  it('says what is wrong in one line, with a non-zero exit, for an unknown entry or command', async () => {
    const { h } = await deadLetters();
    const unknown = await foretell(h, 'dead', 'replay', '1-1');
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'foretell: no dead entry 1-1\n' });
    const usage = await foretell(h, 'alive');
    expect(usage).toEqual({
      code: 2,
      stdout: '',
      stderr: 'foretell: unknown command "alive": expected dead list or dead replay; see foretell --help\n',
    });
    // Neither touched the dead letters.
    expect(await h.redis.xlen(h.keys.dead)).toBe(2);
  });
});
