// Whether the API will be able to listen where it is told, asked before
// `npm start` installs and builds rather than by an API that exits at start.
import { createServer } from 'node:net';

/** Resolves if something may listen on `host`:`port` now; else throws (exitCode 1) naming PORT or HOST. */
export function assertCanListen(host, port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => {
      const where = `${host}:${port}`;
      const message =
        error.code === 'EADDRINUSE'
          ? `PORT: ${where} is already in use; stop what listens there, or set PORT to a free port.`
          : error.code === 'EACCES'
            ? `PORT: no permission to listen on ${where} (ports below 1024 need privileges); set PORT to another port.`
            : `HOST: cannot listen on ${where} (${error.code ?? error.message}); set HOST to an address of this machine.`;
      reject(Object.assign(new Error(message), { exitCode: 1 }));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
