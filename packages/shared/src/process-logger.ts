import { pino, type Logger } from 'pino';

/**
 * The logger of a foretell process (the API, the consumer): JSON lines on
 * stdout, written synchronously.
 *
 * pino's default writes asynchronously and flushes what is buffered when the
 * process exits. When nobody reads stdout any more (an `npm start` killed
 * with SIGKILL, a log shipper that died, `| head`), that last flush fails:
 * sonic-boom 4 retried it for ever, so the process never ended, and 5 throws
 * it inside `exit`, which close-with-grace turns into exit code 1 after a
 * clean drain. Written synchronously, a line is out, or known lost, when the
 * call returns: nothing is left to flush, and a broken pipe only silences
 * the logger. At `info` the apps log start-up, shutdown and errors, not
 * requests, so the synchronous write costs nothing on the hot paths.
 */
export function createProcessLogger(service: string, level: string): Logger {
  return pino({ level, base: { service } }, pino.destination({ dest: 1, sync: true }));
}
