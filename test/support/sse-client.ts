// A server-sent events client for the tests: reads a text/event-stream over
// node:http and parses it as EventSource would (id, event, data; comments kept
// apart), so a test can wait on the events themselves, never on time.
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { waitFor } from './wait-for.js';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: unknown;
}

export interface SseStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The events received so far, in order. */
  readonly events: SseEvent[];
  /** The comment lines received so far (`: keep-alive` → `keep-alive`). */
  readonly comments: string[];
  /** The whole body, for answers that are not a stream (404, 503). */
  body(): string;
  /** Resolves once the server ended the response. */
  readonly ended: Promise<void>;
  /** Waits until `count` events have arrived. */
  received(count: number): Promise<SseEvent[]>;
  /** Hangs up (as a client that goes away). */
  close(): void;
}

/** Opens `GET url`; resolves once the status line and headers arrived. */
export function openSse(url: string, headers: Readonly<Record<string, string>> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      let text = '';
      let buffered = '';
      res.setEncoding('utf8');
      // A hang-up by `close` aborts the response: that is the test's doing, `ended` reports it.
      res.on('error', () => undefined);
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
      });
      res.on('data', (chunk: string) => {
        text += chunk;
        buffered += chunk;
        let at: number;
        while ((at = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, at);
          buffered = buffered.slice(at + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
            }
          }
          const data = fields.get('data');
          if (data !== undefined) {
            events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: JSON.parse(data) });
          }
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        body: () => text,
        ended,
        received: (count) =>
          waitFor(() => (events.length >= count ? events.slice() : undefined), { what: `${count} events` }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
