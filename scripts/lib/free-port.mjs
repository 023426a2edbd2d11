// Picks a port for a server foretell starts itself (a test's API, a local
// Redis, the bench's processes). Plain Node, no dependencies.
//
// Why not `listen(0)` and hand over the kernel's choice: the port is free
// only until it is closed again. Until the server it was picked for binds it,
// the kernel may give the same port to anything else that asks for one,
// a consumer with METRICS_PORT=0 or the local end of an outgoing connection,
// and the server then fails with EADDRINUSE (or, worse, a client reaches the
// wrong server). The kernel hands out only ports of its ephemeral range
// (Linux 32768–60999, macOS and Windows 49152–65535), so ports picked below
// it can be taken only by another explicit bind: another caller of this
// function, which the slices below keep apart.
import { createServer } from 'node:net';

const HOST = '127.0.0.1';
const LOWEST = 20_000;
const HIGHEST = 32_000;
// Parallel test workers (VITEST_POOL_ID 1, 2, …) and the processes they start
// inherit their worker's slice; others share the first one.
const SLICES = 8;
const ATTEMPTS = 50;

const handedOut = new Set();

function slice() {
  const id = Number.parseInt(process.env.VITEST_POOL_ID ?? '', 10);
  const index = Number.isInteger(id) && id > 0 ? id % SLICES : 0;
  const size = Math.floor((HIGHEST - LOWEST) / SLICES);
  return { first: LOWEST + index * size, size };
}

/** Resolves true when this process can listen on 127.0.0.1:port right now. */
function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port nobody listens on right now, outside the kernel's ephemeral range,
 * and not handed out before by this process.
 */
export async function freePort() {
  const { first, size } = slice();
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const port = first + Math.floor(Math.random() * size);
    if (handedOut.has(port)) continue;
    // Reserved before the check, so that concurrent calls never pick the same port.
    handedOut.add(port);
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port found in ${first}–${first + size - 1} after ${ATTEMPTS} tries`);
}
