// One Redis command over a bare socket, for the scripts that run before
// anything is installed (`npm start` looks at a Redis left on its port with
// it). Plain Node, no dependencies: RESP2 replies only, one per connection.
import { Buffer } from 'node:buffer';
import { createConnection } from 'node:net';

const HOST = '127.0.0.1';
const CRLF = '\r\n';

/** RESP2 encoding of a command: an array of bulk strings. */
function encode(args) {
  const parts = args.map((arg) => `$${Buffer.byteLength(String(arg))}${CRLF}${arg}${CRLF}`);
  return `*${args.length}${CRLF}${parts.join('')}`;
}

/**
 * Parses the reply starting at `offset` of `buffer`: `{ value, end }`, or
 * undefined while it is incomplete. An error reply becomes an Error value.
 */
function parseReply(buffer, offset = 0) {
  const lineEnd = buffer.indexOf(CRLF, offset);
  if (lineEnd < 0) return undefined;
  const type = buffer[offset];
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
      return { value: line, end: next };
    case 0x2d: // -
      return { value: new Error(line), end: next };
    case 0x3a: // :
      return { value: Number(line), end: next };
    case 0x24: {
      // $
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case 0x2a: {
      // *
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items = [];
      let end = next;
      for (let index = 0; index < count; index += 1) {
        const item = parseReply(buffer, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`not a Redis reply (starts with ${JSON.stringify(String.fromCharCode(type))})`);
  }
}

/**
 * Sends `args` to 127.0.0.1:`port` on a connection of its own and resolves
 * with the reply (an error reply resolves as an Error), or with `closed` when
 * the server closes the connection without one (what a successful SHUTDOWN
 * does). Rejects when it cannot connect, the reply is not RESP, or nothing
 * comes within `timeoutMs`.
 */
export function redisCommand(port, args, { timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: HOST });
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (callback, value) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      callback(value);
    };
    socket.setTimeout(timeoutMs, () => settle(reject, new Error(`no reply on port ${port} within ${timeoutMs} ms`)));
    socket.once('error', (error) => settle(reject, error));
    socket.once('close', () => settle(resolve, 'closed'));
    socket.once('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      try {
        const reply = parseReply(received);
        if (reply !== undefined) settle(resolve, reply.value);
      } catch (error) {
        settle(reject, error);
      }
    });
  });
}

/** The `field:value` lines of an INFO reply as an object. */
export function parseInfo(text) {
  const fields = {};
  for (const line of text.split(CRLF)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
