import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type SerializerFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']
>;
type Serializer = (data: unknown) => string;

/** Fastify's own serializer compiler (fast-json-stringify), which this one wraps. */
const fastifyDefault = SerializerSelector();

/**
 * Each response schema's serializer, once compiled. Fastify compiles one for
 * every status of every route when an app starts, with fast-json-stringify
 * (code generation, and Ajv to check the schema itself), and our routes share
 * their error schemas; the tests build hundreds of apps in one process.
 * Building and readying an app took 31.5 ms of CPU in a warm process, 25.5 ms
 * with this. A serializer depends only on its schema and the options,
 * which are Fastify's defaults (no shared schemas added, no serializerOpts),
 * and it keeps no state: the same schema object gets the same function, in
 * this app and in any other the process builds. Keyed weakly: a schema no
 * app holds any more takes its serializer with it.
 */
const compiled = new WeakMap<object, Serializer>();

/**
 * The app's serializer factory: Fastify's, compiling each distinct response
 * schema once. With shared schemas or serializer options (which our apps do
 * not set) it is Fastify's, unchanged.
 */
export const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = fastifyDefault(externalSchemas, options);
  const isDefault =
    options === undefined &&
    (externalSchemas === undefined ||
      (typeof externalSchemas === 'object' && externalSchemas !== null && Object.keys(externalSchemas).length === 0));
  if (!isDefault) return compile;
  return (route) => {
    const { schema } = route;
    if (typeof schema !== 'object' || schema === null) return compile(route);
    let serializer = compiled.get(schema);
    if (serializer === undefined) {
      serializer = compile(route);
      compiled.set(schema, serializer);
    }
    return serializer;
  };
};
