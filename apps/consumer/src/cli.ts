import { runCli } from './cli/run-cli.js';

// `npm run -s foretell -- dead list|replay` (node dist/cli.js): the operator's
// tool for the dead-letter stream. An entrypoint like main.ts: the only part
// that reads the environment and the arguments, and sets the exit status.

// A reader that went away (`| head`) is no error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

const status = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// The answer is written: leave once it is flushed, rather than when ioredis's
// timers end (those of commands that failed with their connection outlive them).
process.exitCode = status;
process.stdout.write('', () => process.stderr.write('', () => process.exit(status)));
