// freePort hands out ports the kernel never picks for `listen(0)` or an
// outgoing connection, so that a port picked for a server stays free until it binds.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/free-port.mjs';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(port: number): Promise<number> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

describe('freePort', () => {
  it('picks a port below the kernel ephemeral range, which a server can then bind', async () => {
    // Linux says where its range starts; macOS and Windows start theirs at 49152.
    const range = '/proc/sys/net/ipv4/ip_local_port_range';
    const low = existsSync(range) ? Number(readFileSync(range, 'utf8').trim().split(/\s+/)[0]) : 49_152;
    const port = await freePort();
    expect(port).toBeLessThan(low);
    expect(await listen(port)).toBe(port);
  });

  it('never hands out the same port twice in a process, nor one in use', async () => {
    const taken = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(taken).size).toBe(taken.length);
    // Hold all of them: the next ones must avoid them all.
    for (const port of taken) await listen(port);
    const more = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of more) expect(taken).not.toContain(port);
    expect(new Set(more).size).toBe(more.length);
  });
});
