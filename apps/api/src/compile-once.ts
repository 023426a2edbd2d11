/**
 * What `compile` makes of `schema`, made once per process: every app the
 * process builds (the tests build hundreds) compiles the same schema objects,
 * and what they compile to keeps no state. Keyed weakly: a schema no app
 * holds any more takes its compiled form with it.
 */
export function compileOnce<Compiled>(
  cache: WeakMap<object, Compiled>,
  schema: object,
  compile: () => Compiled,
): Compiled {
  let compiled = cache.get(schema);
  if (compiled === undefined) {
    compiled = compile();
    cache.set(schema, compiled);
  }
  return compiled;
}
