import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from '@foretell/shared';
import { compileOnce } from './compile-once.js';

/**
 * The first string property of a body that is not well-formed UTF-16 (a lone
 * surrogate such as `"\ud800"` in the JSON): it has no UTF-8 encoding, so it
 * would reach the model as one string in this process and as another (U+FFFD)
 * through Redis. Our bodies are flat objects: their own properties suffice.
 * Called on every accepted body: `isWellFormed` and a `for…in` over a valid
 * body (its schema's properties only) allocate nothing.
 */
function malformedString(value: unknown): FastifySchemaValidationError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const name in record) {
    const property = record[name];
    if (typeof property === 'string' && !property.isWellFormed() && Object.hasOwn(record, name)) {
      return {
        keyword: 'wellFormed',
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}`,
        params: {},
        message: 'must be well-formed Unicode (no lone UTF-16 surrogates)',
      };
    }
  }
  return undefined;
}

// Up to this many properties, a refused object is reported as it is.
const FEW_PROPERTIES = 8;

/**
 * A refused object with many properties, as the errors are computed on it:
 * its known properties and its first unknown one. Listing every error of an
 * object with 10 000 unknown properties costs 20 000 error objects for a
 * message nobody reads; the client learns the first, fixes it, and retries.
 */
function withFewUnknownProperties(schema: TSchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { properties = {}, additionalProperties } = schema as {
    properties?: Record<string, unknown>;
    additionalProperties?: unknown;
  };
  if (additionalProperties !== false) return value;
  let count = 0;
  let firstUnknown: string | undefined;
  for (const name in value) {
    count += 1;
    if (firstUnknown === undefined && !Object.hasOwn(properties, name)) firstUnknown = name;
    if (count > FEW_PROPERTIES && firstUnknown !== undefined) break;
  }
  if (count <= FEW_PROPERTIES || firstUnknown === undefined) return value;
  const record = value as Record<string, unknown>;
  const reported: Record<string, unknown> = {};
  for (const name of Object.keys(properties)) if (Object.hasOwn(record, name)) reported[name] = record[name];
  reported[firstUnknown] = record[firstUnknown];
  return reported;
}

/** Each route schema's compiled TypeBox check, once per process (compile-once.ts). */
const checks = new WeakMap<object, ReturnType<typeof Compile<TSchema>>>();

/**
 * Validates every part of a request with a compiled TypeBox check, as sent:
 * no coercion (`{"input": 42}` is a 400, not "42") and no stripping of unknown
 * properties (they are a 400). Our header and path schemas are strings, so
 * nothing needs converting; checking without converting also skips a walk
 * of every request's headers. A body's strings must also be well-formed.
 */
export const typeBoxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = compileOnce(checks, schema, () => Compile(schema));
  const checkStrings = httpPart === 'body';
  return (value) => {
    if (!validator.Check(value)) {
      const reported = withFewUnknownProperties(schema, value);
      return { error: validator.Errors(reported) as unknown as FastifySchemaValidationError[] };
    }
    const malformed = checkStrings ? malformedString(value) : undefined;
    return malformed ? { error: [malformed] } : PASSED;
  };
};

/**
 * A pass without a `value`: nothing was converted, so Fastify keeps the part
 * as it is. Given a `value`, it assigns it back, and for headers that
 * assignment makes every later `request.headers` read a copy of all the
 * request's headers (Fastify's getter merges "additional" headers), four
 * copies per async POST.
 */
const PASSED = Object.freeze({});
