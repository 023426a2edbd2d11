// `npm run soak` (= `pnpm --filter @foretell/bench run soak`): proves that no
// accepted job is lost or stored twice while consumers crash. Starts its own
// redis-server (AOF, temporary folder), one API and N consumers from the built
// dist, submits jobs through the HTTP API, kills random consumers (mostly
// SIGKILL, sometimes SIGTERM) and replaces them, then checks every accepted
// job's hash and how often its id was announced on `{prefix}:done`
// (finish-jobs publishes only when it writes the outcome, so two announcements
// mean two writes). Exits 0 iff lost = 0 and duplicated = 0; 1 otherwise or on
// an error, 2 on a bad command line, 130 when interrupted. Not part of
// `npm test`: it takes tens of seconds and is random by design.
import { existsSync } from 'node:fs';
import { ENTRIES } from './processes.js';
import { ROOT } from './settings.js';
import { log } from './soak/log.js';
import { parseSoakOptions, SOAK_USAGE, UsageError, type SoakOptions } from './soak/options.js';
import { SoakResources } from './soak/resources.js';
import { soak } from './soak/run-soak.js';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const printError = (message: string) => process.stderr.write(`\u001b[31m✖ ${message}\u001b[0m\n`);

async function main(): Promise<number> {
  let options: SoakOptions | undefined;
  try {
    options = parseSoakOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(`${error.message}\n\n${SOAK_USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${SOAK_USAGE}\n`);
    return 0;
  }
  for (const entry of [ENTRIES.api, ENTRIES.consumer]) {
    if (!existsSync(`${ROOT}${entry}`)) {
      printError(`${entry} is missing: run \`npm run build\` first`);
      return 2;
    }
  }

  const resources = new SoakResources();
  process.once('exit', () => resources.killAllNow());
  const run = new AbortController();
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) {
        log('second signal: killing everything now');
        process.exit(130); // the 'exit' handler SIGKILLs the children
      }
      interrupted = true;
      log(`${signal}: stopping the soak and everything it started`);
      run.abort(new Error(`interrupted by ${signal}`));
    });
  }

  try {
    const { pass } = await soak(options, resources, run);
    await resources.cleanUp();
    if (interrupted) return 130;
    return pass ? 0 : 1;
  } catch (error) {
    log(`stopping everything: ${messageOf(error)}`);
    await resources.cleanUp();
    if (interrupted) return 130;
    throw error;
  }
}

// process.exit: a retry still sleeping in a submitter must not hold the verdict back.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    printError(messageOf(error));
    process.exit(1);
  },
);
