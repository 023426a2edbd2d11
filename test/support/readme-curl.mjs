// A stand-in for curl, for the README's examples (test/docs/readme-examples.test.ts):
// the test runs each example's shell lines with this first on PATH as `curl`,
// so they run where only Node is installed, and each exchange is recorded.
// It understands the flags the README uses and refuses any other, so that an
// example never depends on a flag it would silently ignore.
//
//   -s -S -i -f (also combined: -si, -sf), -H 'Name: value', -d DATA, -X METHOD, one URL
//
// As curl: -d makes it a POST with Content-Type application/x-www-form-urlencoded
// unless -H gives one; a URL without a scheme is http://; -i prints the status
// line and headers before the body; -f prints nothing and exits 22 on a status
// of 400 or more. Each exchange is appended to README_CURL_LOG as a JSON line:
// { method, url, status, statusText, rawHeaders (names as sent, then values), body }.
import { appendFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { Agent, request } from 'node:http';

const USAGE_ERROR = 2;
const HTTP_ERROR = 22;
const TIMED_OUT = 28;
const CONNECT_FAILED = 7;
const TIMEOUT_MS = Number(process.env.README_CURL_TIMEOUT_MS || 10_000);

function fail(code, message) {
  process.stderr.write(`readme-curl: ${message}\n`);
  process.exit(code);
}

function parseArguments(args) {
  const options = { include: false, failOnError: false, headers: [], data: undefined, method: undefined, url: '' };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    const value = () => {
      i += 1;
      if (i >= args.length) fail(USAGE_ERROR, `${arg} needs a value`);
      return args[i];
    };
    if (arg === '-H' || arg === '--header') options.headers.push(value());
    else if (arg === '-d' || arg === '--data') options.data = value();
    else if (arg === '-X' || arg === '--request') options.method = value();
    // -N (no output buffering): this stand-in prints the body once the answer ends, which is the same text.
    else if (/^-[sSifN]+$/.test(arg)) {
      if (arg.includes('i')) options.include = true;
      if (arg.includes('f')) options.failOnError = true;
    } else if (arg.startsWith('-'))
      fail(USAGE_ERROR, `unsupported option ${arg} (add it to test/support/readme-curl.mjs)`);
    else if (options.url) fail(USAGE_ERROR, `a second URL: ${arg}`);
    else options.url = arg;
  }
  if (!options.url) fail(USAGE_ERROR, 'no URL');
  return options;
}

const options = parseArguments(process.argv.slice(2));
const url = new URL(/^[a-z]+:\/\//i.test(options.url) ? options.url : `http://${options.url}`);
const method = options.method ?? (options.data === undefined ? 'GET' : 'POST');
const headers = { 'User-Agent': 'curl/8 (readme-curl)', Accept: '*/*' };
for (const line of options.headers) {
  const colon = line.indexOf(':');
  if (colon < 1) fail(USAGE_ERROR, `not a header: ${line}`);
  headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
}
const hasHeader = (name) => Object.keys(headers).some((key) => key.toLowerCase() === name);
if (options.data !== undefined) {
  if (!hasHeader('content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  headers['Content-Length'] = String(Buffer.byteLength(options.data));
}

// Keep-alive, as curl asks (Node's `agent: false` would send `Connection: close`); the
// process exits once the answer is out, closing the connection as curl does.
const agent = new Agent({ keepAlive: true });
const call = request(url, { method, headers, agent, timeout: TIMEOUT_MS }, (response) => {
  const chunks = [];
  response.on('data', (chunk) => chunks.push(chunk));
  response.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const status = response.statusCode ?? 0;
    if (process.env.README_CURL_LOG) {
      const record = {
        method,
        url: `${url.pathname}${url.search}`,
        status,
        statusText: response.statusMessage ?? '',
        rawHeaders: response.rawHeaders,
        body,
      };
      appendFileSync(process.env.README_CURL_LOG, `${JSON.stringify(record)}\n`);
    }
    if (options.failOnError && status >= 400) process.exit(HTTP_ERROR);
    let out = '';
    if (options.include) {
      out += `HTTP/${response.httpVersion} ${status} ${response.statusMessage ?? ''}\r\n`;
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        out += `${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}\r\n`;
      }
      out += '\r\n';
    }
    process.stdout.write(out + body, () => process.exit(0));
  });
});
call.on('timeout', () => {
  call.destroy();
  fail(TIMED_OUT, `no answer within ${TIMEOUT_MS} ms`);
});
call.on('error', (error) => fail(CONNECT_FAILED, error.message));
call.end(options.data);
