import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisRelay, type RedisRelay } from '../../../test/support/redis-relay.js';
import { freePort, startRedisServer } from '../../../test/support/redis-server.js';
import { testRedis, type TestRedis } from '../../../test/support/test-redis.js';
import { foretell, type CliRun } from './cli-run.js';

// Every mistake an operator can make with `foretell` gets one line on stderr
// (no stack, no usage dump), nothing on stdout, and its exit status: 1 for a
// failure, 2 for a command line it does not understand. Run as processes:
// a stack trace or a stray line would show only there.

// Closed after each test, in reverse order. The concurrent tests close their own in `finally`.
const disposers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

function redisOfTheRun(): TestRedis {
  const t = testRedis();
  disposers.push(() => t.cleanup());
  return t;
}

interface NotRedis {
  readonly url: string;
  /** When each connection was accepted (ms since the epoch). */
  readonly accepted: readonly number[];
  close(): Promise<void>;
}

/** A TCP server on a free loopback port that is not Redis: it counts connections, and closes them or stays silent. */
async function notRedis(behaviour: 'close' | 'silent'): Promise<NotRedis> {
  const accepted: number[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    accepted.push(Date.now());
    sockets.push(socket);
    socket.on('error', () => undefined);
    if (behaviour === 'close') socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function oneLine(run: CliRun): string {
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^foretell: [^\n]+\n$/);
  return run.stderr;
}

const USAGE_MISTAKES: { args: string[]; says: string }[] = [
  { args: [], says: 'missing command: dead list or dead replay' },
  { args: ['alive'], says: 'unknown command "alive": expected dead list or dead replay' },
  { args: ['dead'], says: 'missing command after dead: list or replay' },
  { args: ['dead', 'lst'], says: 'unknown command "dead lst": expected dead list or dead replay' },
  { args: ['dead', 'list', '--bogus'], says: 'unknown option --bogus' },
  { args: ['dead', 'list', '-x'], says: 'unknown option -x' },
  { args: ['dead', 'list', '--all'], says: '--all is not an option of dead list' },
  { args: ['dead', 'replay', '--json', '1-1'], says: '--json is not an option of dead replay' },
  { args: ['dead', 'list', '--count'], says: '--count needs a value' },
  { args: ['dead', 'list', '--count', 'ten'], says: '--count must be a positive whole number (got "ten")' },
  { args: ['dead', 'list', '--count', '0'], says: '--count must be a positive whole number (got "0")' },
  { args: ['dead', 'list', '--count=1.5'], says: '--count must be a positive whole number (got "1.5")' },
  { args: ['dead', 'list', '--json=yes'], says: '--json takes no value' },
  { args: ['dead', 'list', 'extra'], says: 'unexpected argument "extra" after dead list' },
  { args: ['dead', 'replay'], says: 'dead replay needs an entry id (as dead list shows it), or --all' },
  { args: ['dead', 'replay', 'abc'], says: '"abc" is not an entry id (those look like 1732262400000-0)' },
  {
    args: ['dead', 'replay', '99999999999999999999-0'],
    says: '"99999999999999999999-0" is not an entry id (those look like 1732262400000-0)',
  },
  { args: ['dead', 'replay', '1-1', '--all'], says: 'dead replay takes an entry id or --all, not both' },
  { args: ['dead', 'replay', '1-1', '2-2'], says: 'unexpected argument "2-2": dead replay takes one entry id' },
];

describe('foretell answers a mistake with one line and its exit status', () => {
  it.concurrent.each(USAGE_MISTAKES)('usage: $args → 2', async ({ args, says }) => {
    // Redis is never asked: the command line is refused first.
    const server = await notRedis('close');
    try {
      const run = await foretell(args, { REDIS_URL: server.url });
      expect(run).toEqual({ code: 2, stdout: '', stderr: `foretell: ${says}; see foretell --help\n` });
      expect(server.accepted).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it.concurrent.each([
    { args: ['--help'] },
    { args: ['-h'] },
    { args: ['help'] },
    { args: ['dead', 'list', '--help'] },
    { args: ['dead', 'replay', '-h', '--bogus'] },
  ])('help: $args → usage on stdout, 0', async ({ args }) => {
    const run = await foretell(args, {});
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(/^usage: foretell dead list \[--count N\] \[--json\]\n/);
    expect(run.stdout).toContain('Exit status: 0 done, 1 failed');
  });

  it('bad configuration: every bad variable, credentials left out → 1', async () => {
    const run = await foretell(['dead', 'list'], { REDIS_URL: 'http://admin:s3cret@example.com', KEY_PREFIX: 'a b' });
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(
      'foretell: invalid configuration: ' +
        'REDIS_URL: must match pattern "^[Rr][Ee][Dd][Ii][Ss][Ss]?://" (got "http://***@example.com"); ' +
        'KEY_PREFIX: must match pattern "^[^\\s{}]+$" (got "a b")\n',
    );
  });

  it('Redis down: says which Redis, password redacted → 1', async () => {
    const port = await freePort();
    const run = await foretell(['dead', 'list'], { REDIS_URL: `redis://admin:s3cret@127.0.0.1:${port}` });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `foretell: cannot reach Redis at redis://***@127.0.0.1:${port} ` +
        `(connect ECONNREFUSED 127.0.0.1:${port}); is it running, and REDIS_URL right?\n`,
    });
  });

  it('fails fast: one connection attempt, no retry loop, when the connection is dropped → 1', async () => {
    const server = await notRedis('close');
    disposers.push(() => server.close());
    const run = await foretell(['dead', 'replay', '--all'], { REDIS_URL: server.url });
    expect(run.code).toBe(1);
    expect(oneLine(run)).toMatch(
      new RegExp(`^foretell: cannot reach Redis at ${server.url} \\(.+\\); is it running, and REDIS_URL right\\?\n$`),
    );
    expect(server.accepted).toHaveLength(1);
  });

  it('a server that never answers: gives up after 5 s, not later → 1', async () => {
    const server = await notRedis('silent');
    disposers.push(() => server.close());
    const run = await foretell(['dead', 'list', '--json'], { REDIS_URL: server.url });
    const exitedAt = Date.now();
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(
      `foretell: cannot reach Redis at ${server.url} (no answer within 5 s); is it running, and REDIS_URL right?\n`,
    );
    expect(server.accepted).toHaveLength(1);
    // An upper bound from the connection to the exit: the 5 s, and a margin for a loaded machine.
    expect(exitedAt - (server.accepted[0] ?? 0)).toBeLessThan(5000 + 3000);
  });

  it('Redis refuses the password, or wants one: says so, the password left out → 1', async () => {
    const server = await startRedisServer();
    disposers.push(() => server.dispose());
    // Set once it runs: the launcher's start probe (a bare PING) would be refused with NOAUTH.
    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'requirepass', 'right-password');
    } finally {
      admin.disconnect();
    }
    const url = `redis://127.0.0.1:${server.port}`;
    const [wrong, none] = await Promise.all([
      foretell(['dead', 'list'], { REDIS_URL: `redis://:wrong-password@127.0.0.1:${server.port}` }),
      foretell(['dead', 'list'], { REDIS_URL: url }),
    ]);
    expect(wrong.code).toBe(1);
    expect(oneLine(wrong)).toMatch(
      new RegExp(`^foretell: Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${server.port} refused AUTH: WRONGPASS `),
    );
    expect(none.code).toBe(1);
    expect(oneLine(none)).toBe(`foretell: Redis at ${url} refused INFO: NOAUTH Authentication required.\n`);
  });

  it('a key of another kind where the dead letters should be (KEY_PREFIX shared by mistake) → 1', async () => {
    const t = redisOfTheRun();
    await t.redis.set(t.keys.dead, 'not a stream');
    const run = await foretell(['dead', 'list'], { REDIS_URL: t.url, KEY_PREFIX: t.prefix });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `foretell: Redis at ${t.url} refused XRANGE: WRONGTYPE Operation against a key holding the wrong kind of value\n`,
    });
  });

  it('the connection lost in the middle of a command → 1', async () => {
    const t = redisOfTheRun();
    const relay: RedisRelay = await startRedisRelay(t.url);
    let closing: Promise<void> | undefined;
    const closeRelay = () => (closing ??= relay.close());
    disposers.push(closeRelay);
    const listing = relay.arm((chunk) => /xrange/i.test(chunk));
    const running = foretell(['dead', 'list', '--json'], { REDIS_URL: relay.url, KEY_PREFIX: t.prefix });
    // The XRANGE is held in the relay: the connection goes while the CLI waits for its answer.
    await listing;
    await closeRelay();
    expect(await running).toEqual({
      code: 1,
      stdout: '',
      stderr: `foretell: lost the connection to Redis at ${relay.url} (Connection is closed.)\n`,
    });
  });
});
