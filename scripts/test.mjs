// `npm test`: every check, from a clean clone. Installs what is missing
// (dependencies; redis-server and Chromium via apt-get when root), builds
// (the end-to-end tests run the built processes), type-checks, lints and
// formats-checks, then runs every vitest test. Extra arguments go to vitest.
import { CHROMIUM, ensureSystemCommand, installDependencies, log, pnpm, REDIS_SERVER, runMain } from './lib/run.mjs';

runMain(async () => {
  await installDependencies();
  await ensureSystemCommand(REDIS_SERVER);
  const chromium = process.env.CHROMIUM_PATH || (await ensureSystemCommand(CHROMIUM));
  log('building');
  await pnpm(['run', 'build']);
  log('type-checking');
  await pnpm(['run', 'typecheck']);
  log('linting and format-checking');
  await pnpm(['run', 'lint']);
  log('running the tests');
  await pnpm(['exec', 'vitest', 'run', ...process.argv.slice(2)], {
    env: { ...process.env, CHROMIUM_PATH: chromium },
  });
});
