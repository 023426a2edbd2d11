/**
 * The URL of a file of this package's build (`model-worker.js`), for Node to
 * load in a thread or as a hook. Found through Node's resolution of the
 * package's own name, not from this module's place: the apps bundle this
 * code into their own dist/server.js or dist/main.js, where import.meta.url
 * is the app's file, and from there the name resolves to the app's installed
 * copy of the package; from the package's own dist/ it resolves to itself.
 */
export function builtFileUrl(name: string): string {
  return new URL(name, import.meta.resolve('@foretell/shared')).href;
}
