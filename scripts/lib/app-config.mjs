// The apps' own configuration check, run by `npm start` before it starts
// anything: their loaders from the build, so that a bad setting is reported
// once, in full, instead of by a process that exits while starting.
import { pathToFileURL } from 'node:url';

/** The problems of `error` if it is the shared package's ConfigError, else rethrows it. */
function problemsOf(error) {
  if (error?.name !== 'ConfigError' || !Array.isArray(error.problems)) throw error;
  return error.problems;
}

/**
 * Loads the API's and the consumer's configuration (and the API's key file)
 * from `env` as they will, with the built loaders under `root`. Throws
 * (exitCode 1) naming every bad variable once.
 */
export async function checkAppConfig(root, env) {
  const load = (path) => import(pathToFileURL(`${root}${path}`).href);
  const [{ loadApiConfig, loadApiKeys }, { loadConsumerConfig }] = await Promise.all([
    load('apps/api/dist/preflight.js'),
    load('apps/consumer/dist/preflight.js'),
  ]);
  const problems = [];
  try {
    loadApiKeys(loadApiConfig(env));
  } catch (error) {
    problems.push(...problemsOf(error));
  }
  try {
    loadConsumerConfig(env);
  } catch (error) {
    problems.push(...problemsOf(error));
  }
  if (problems.length > 0) {
    // The variables both apps read would be named twice.
    const unique = [...new Set(problems)];
    throw Object.assign(new Error(`invalid configuration:\n  ${unique.join('\n  ')}`), { exitCode: 1 });
  }
}
