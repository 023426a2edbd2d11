import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigCheck } from '@foretell/shared';
import { apiKeyProblem, parseApiKeysFile, splitApiKeys } from './api-keys.js';

/** The variables that turn API keys and their limits on. */
export interface AccessVariables {
  API_KEYS: string;
  API_KEYS_FILE: string;
  RATE_LIMIT_PER_MINUTE: number;
  MAX_JOBS_PER_KEY: number;
  DOCS_PUBLIC: 'true' | 'false';
}

/**
 * Cross-variable rules: one source of keys at most; keys in API_KEYS are
 * well-formed (a problem names the key by position, never by value); and a
 * per-key limit or private docs without any key is refused rather than
 * silently meaning nothing.
 */
export const accessConfigCheck: ConfigCheck<AccessVariables> = (config) => {
  const problems: string[] = [];
  const inline = config.API_KEYS === undefined ? [] : splitApiKeys(config.API_KEYS);
  const hasFile = config.API_KEYS_FILE !== undefined && config.API_KEYS_FILE !== '';
  if (inline.length > 0 && hasFile) problems.push('API_KEYS_FILE: set either API_KEYS or API_KEYS_FILE, not both');
  if (config.API_KEYS !== undefined && config.API_KEYS.trim() !== '' && inline.length === 0) {
    problems.push('API_KEYS: has no key (comma-separated keys expected)');
  }
  inline.forEach((key, index) => {
    const problem = apiKeyProblem(key);
    if (problem) problems.push(`API_KEYS: key ${index + 1} of ${inline.length} ${problem}`);
  });
  const keysOn = inline.length > 0 || hasFile;
  if (!keysOn) {
    if ((config.RATE_LIMIT_PER_MINUTE ?? 0) > 0) {
      problems.push('RATE_LIMIT_PER_MINUTE: is a limit per API key; set API_KEYS or API_KEYS_FILE too');
    }
    if ((config.MAX_JOBS_PER_KEY ?? 0) > 0) {
      problems.push('MAX_JOBS_PER_KEY: is a limit per API key; set API_KEYS or API_KEYS_FILE too');
    }
    if (config.DOCS_PUBLIC === 'false') problems.push('DOCS_PUBLIC: false needs API_KEYS or API_KEYS_FILE');
  }
  return problems;
};

/**
 * The API keys of a configuration that passed `accessConfigCheck`: those of
 * API_KEYS, or those read from API_KEYS_FILE; none means /predict is open.
 * A file that cannot be read, holds no key or a bad one throws a ConfigError
 * naming the line, never the key.
 */
export function loadApiKeys(
  config: Pick<AccessVariables, 'API_KEYS' | 'API_KEYS_FILE'>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): string[] {
  if (config.API_KEYS_FILE === '') return splitApiKeys(config.API_KEYS);
  let text: string;
  try {
    text = readFile(config.API_KEYS_FILE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([`API_KEYS_FILE: cannot read ${JSON.stringify(config.API_KEYS_FILE)} (${code})`]);
  }
  const lines = parseApiKeysFile(text);
  const problems = lines.flatMap(({ line, key }) => {
    const problem = apiKeyProblem(key);
    return problem ? [`API_KEYS_FILE: the key on line ${line} ${problem}`] : [];
  });
  if (lines.length === 0) problems.push('API_KEYS_FILE: has no key (one per line; # starts a comment)');
  if (problems.length > 0) throw new ConfigError(problems);
  return lines.map(({ key }) => key);
}
