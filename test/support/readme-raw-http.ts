// Bytes written to a socket as they are, and the answer read until the server
// closes it: for the answers an HTTP client cannot provoke (a request that
// stalls, headers over Node's limit).
import { createConnection } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Writes `request` to 127.0.0.1:`port` and resolves with the answer once the
 * server has closed the connection; rejects after `timeoutMs` without one.
 */
export function rawExchange(port: number, request: string, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer closed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may reset the socket after its answer (unread bytes): what arrived still counts.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...headerLines] = (end < 0 ? text : text.slice(0, end)).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? NaN);
      if (Number.isNaN(status)) {
        reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: end < 0 ? '' : text.slice(end + 4) });
    });
    socket.write(request);
  });
}
