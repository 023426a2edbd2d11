// Preloaded into the API and the consumer by `npm start` (node --import).
// The runner holds the other end of fd 3 and closes it to stop the app; a
// runner that dies, SIGKILL included, closes it too. Either way the app gets
// one SIGTERM, its ordinary graceful stop (drain, then exit).
import { Socket } from 'node:net';

/** The descriptor `npm start` passes; nothing else starts the apps with this preload. */
const LIFELINE_FD = 3;

let isSignalled = false;
const stop = () => {
  if (isSignalled) return;
  isSignalled = true;
  process.kill(process.pid, 'SIGTERM');
};
const lifeline = new Socket({ fd: LIFELINE_FD, readable: true, writable: false });
// Whatever ends the connection means the same: the runner is done with this
// app. 'end' comes first, while fd 3 is still open: once it is closed, the
// signal has been sent.
lifeline.on('error', () => undefined);
lifeline.once('end', stop);
lifeline.once('close', stop);
lifeline.resume();
// It must not keep the app alive once the app has stopped for another reason.
lifeline.unref();
