import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface RedisRelay {
  /** What to give a process as REDIS_URL. */
  readonly url: string;
  /**
   * Sends new connections to another port; open ones stay where they are,
   * as with a DNS name or a virtual IP moved to a promoted replica.
   */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** A TCP relay on a free loopback port in front of a Redis on `port`. */
export async function startRedisRelay(port: number): Promise<RedisRelay> {
  let target = port;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: relayPort } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${relayPort}`,
    retarget(port) {
      target = port;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
