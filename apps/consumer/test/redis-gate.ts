import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay in front of the test's Redis that can hold one connection's
 * commands at a chosen one, so that a test puts its own step exactly
 * between two commands of a consumer (the race windows the scripts close).
 * Bytes are relayed unchanged and in order: holding a connection holds
 * everything it sends from the matching chunk on, and Redis answers in order
 * once the gate opens. Redis itself is real; only its timing is the test's.
 */
export interface RedisGate {
  /** What to connect the consumer to. */
  readonly url: string;
  /**
   * Holds the first connection whose next chunk of commands (RESP text)
   * `matches`, from that chunk on; resolves with that chunk once it is held.
   */
  arm(matches: (chunk: string) => boolean): Promise<string>;
  /** Lets the held commands through, and every later one. */
  open(): void;
  close(): Promise<void>;
}

interface Held {
  readonly upstream: Socket;
  readonly chunks: Buffer[];
}

export async function startRedisGate(target: string): Promise<RedisGate> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let armed: { matches: (chunk: string) => boolean; caught: (chunk: string) => void } | undefined;
  let held: Held | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      if (held?.upstream === upstream) {
        held.chunks.push(chunk);
        return;
      }
      const text = chunk.toString('latin1');
      if (armed?.matches(text)) {
        held = { upstream, chunks: [chunk] };
        const { caught } = armed;
        armed = undefined;
        caught(text);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: gatePort } = server.address() as AddressInfo;

  return {
    url: `redis://127.0.0.1:${gatePort}`,
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
