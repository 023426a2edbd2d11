import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

// One TCP relay on a free loopback port in front of a real Redis, for the
// tests that need to see or steer the bytes between an app and Redis: move
// new connections to a promoted node (failover), record what a client sent
// (a QUIT versus a dropped socket), or hold one connection's commands at a
// chosen one (race windows). Bytes pass unchanged and in order.

export interface RelayedConnection {
  /** Every byte the client sent (RESP), as text; only with `record`. */
  sent: string;
  /** The client's side is closed. */
  closed: boolean;
}

export interface RedisRelay {
  /** What to give a process as REDIS_URL. */
  readonly url: string;
  /** One record per connection a client opened through the relay. */
  readonly connections: readonly RelayedConnection[];
  /**
   * Sends new connections to another port; open ones stay where they are,
   * as with a DNS name or a virtual IP moved to a promoted replica.
   */
  retarget(port: number): void;
  /**
   * Holds the first connection whose next chunk of commands (RESP text)
   * `matches`, from that chunk on; resolves with that chunk once it is held.
   */
  arm(matches: (chunk: string) => boolean): Promise<string>;
  /** Lets the held commands through, and every later one. */
  open(): void;
  close(): Promise<void>;
}

export interface RedisRelayOptions {
  /** Keep every byte clients send (memory grows with traffic: short tests only). */
  readonly record?: boolean;
}

/** The RESP bytes of ioredis's QUIT, which closes a connection in order. */
const QUIT = /\*1\r\n\$4\r\nquit\r\n$/i;

/** Whether the client's last command on this (recorded) connection was QUIT. */
export function endedWithQuit(connection: RelayedConnection): boolean {
  return QUIT.test(connection.sent);
}

/** A relay in front of the Redis at `target` (a redis:// URL, or a loopback port). */
export async function startRedisRelay(target: string | number, options: RedisRelayOptions = {}): Promise<RedisRelay> {
  let host = '127.0.0.1';
  let port = typeof target === 'number' ? target : 0;
  if (typeof target === 'string') {
    const url = new URL(target);
    host = url.hostname;
    port = Number(url.port);
  }
  const connections: RelayedConnection[] = [];
  const sockets = new Set<Socket>();
  let armed: { matches: (chunk: string) => boolean; caught: (chunk: string) => void } | undefined;
  let held: { upstream: Socket; chunks: Buffer[] } | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const record: RelayedConnection = { sent: '', closed: false };
    connections.push(record);
    const upstream = connect(port, host);
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      if (options.record) record.sent += chunk.toString('latin1');
      if (held?.upstream === upstream) {
        held.chunks.push(chunk);
        return;
      }
      if (armed?.matches(chunk.toString('latin1'))) {
        held = { upstream, chunks: [chunk] };
        const { caught } = armed;
        armed = undefined;
        caught(chunk.toString('latin1'));
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
    client.once('close', () => {
      record.closed = true;
      upstream.destroy();
    });
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: relayPort } = server.address() as AddressInfo;

  return {
    url: `redis://127.0.0.1:${relayPort}`,
    connections,
    retarget(next) {
      port = next;
    },
    arm(matches) {
      return new Promise((caught) => {
        armed = { matches, caught };
      });
    },
    open() {
      const opened = held;
      held = undefined;
      for (const chunk of opened?.chunks ?? []) opened?.upstream.write(chunk);
    },
    async close() {
      armed = undefined;
      held = undefined;
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
