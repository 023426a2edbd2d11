// TypeBox's runtime, as every foretell process loads it. TypeBox ships as
// about 700 small ES modules, and Node's ES module loader pays for each one
// (a resolution, a read, a compile, a link): importing it took about half a
// second of CPU, a third of an API's start and half of a consumer's or the
// CLI's. The build (scripts/bundle-typebox.mjs) replaces this file's output
// with one bundled module of what is exported here; the apps import these
// through @foretell/shared, so every process loads TypeBox once, from it.
// Types are imported from 'typebox' as usual (they are erased).
export { Type } from 'typebox';
export { Compile } from 'typebox/compile';
export { Value } from 'typebox/value';
