/** A progress line on stdout, where the verdict goes too. */
export function log(message: string): void {
  process.stdout.write(process.stdout.isTTY ? `\u001b[1m▸ ${message}\u001b[0m\n` : `▸ ${message}\n`);
}
