// Whether the API (PORT, HOST) and the consumer's metrics server
// (METRICS_PORT, METRICS_HOST) will be able to listen where they are told,
// asked before `npm start` installs and builds rather than by an app that
// exits at start.
import { createServer } from 'node:net';

/** Resolves if something may listen on `host`:`port` now; else throws (exitCode 1) naming the settings. */
export function assertCanListen(host, port, names = { port: 'PORT', host: 'HOST' }) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => {
      const where = `${host}:${port}`;
      const message =
        error.code === 'EADDRINUSE'
          ? `${names.port}: ${where} is already in use; stop what listens there, or set ${names.port} to a free port.`
          : error.code === 'EACCES'
            ? `${names.port}: no permission to listen on ${where} (ports below 1024 need privileges); set ${names.port} to another port.`
            : `${names.host}: cannot listen on ${where} (${error.code ?? error.message}); set ${names.host} to an address of this machine.`;
      reject(Object.assign(new Error(message), { exitCode: 1 }));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
