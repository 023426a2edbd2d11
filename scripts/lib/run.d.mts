// Types of what the tests use from run.mjs, which stays plain JavaScript
// because `npm start` and `npm test` run it before anything is installed.

/** A command the machine needs, its Debian package, and how to get it otherwise. */
export interface SystemCommand {
  /** Names to look for on PATH, in order of preference. */
  readonly commands: readonly string[];
  readonly aptPackage: string;
  readonly hint: string;
}

/** The browser for the browser tests: Chromium's headless shell first. */
export const CHROMIUM: SystemCommand;

/** The path of the first of `commands` on PATH, or undefined. */
export function findSystemCommand(command: Pick<SystemCommand, 'commands'>): string | undefined;
