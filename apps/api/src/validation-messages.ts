import type { FastifySchemaValidationError } from 'fastify';

/** "body", "body/input" — the part of the request a message is about. */
function where(dataVar: string, instancePath: string): string {
  return instancePath ? `${dataVar}${instancePath}` : dataVar;
}

/** One or more visible ASCII characters: what may become part of a Redis key or a header. */
export const VISIBLE_ASCII_PATTERN = '^[\\x21-\\x7E]+$';

/** A whole number of seconds, 0 or more (a `wait`). */
export const SECONDS_PATTERN = '^[0-9]+$';

/** What the schemas' patterns mean, in words. */
const PATTERN_MEANINGS: Record<string, string> = {
  [VISIBLE_ASCII_PATTERN]: 'must be visible ASCII characters (no spaces, control or non-ASCII characters)',
  [SECONDS_PATTERN]: 'must be a whole number of seconds (0 or more)',
};

function describe(error: FastifySchemaValidationError, dataVar: string): string | undefined {
  const params: Record<string, unknown> = error.params;
  switch (error.keyword) {
    // TypeBox reports each unknown property twice: once as "schema is false".
    case 'boolean':
      return undefined;
    case 'required':
      return `${where(dataVar, error.instancePath)} must have the property ${listOf(params['requiredProperties'])}`;
    case 'additionalProperties':
      return `${where(dataVar, error.instancePath)} has unknown property ${listOf(params['additionalProperties'])}`;
    case 'minLength':
      if (params['limit'] === 1) return `${where(dataVar, error.instancePath)} must not be empty`;
      break;
    case 'pattern': {
      // A regular expression is no answer for a client: say what it means, where we know.
      const meaning = PATTERN_MEANINGS[String(params['pattern'])];
      if (meaning !== undefined) return `${where(dataVar, error.instancePath)} ${meaning}`;
      break;
    }
  }
  return `${where(dataVar, error.instancePath)} ${error.message ?? 'is invalid'}`;
}

// A name is echoed at most this long, and at most this many names: the answer stays one short sentence.
const NAME_CHARACTERS = 32;
const NAMES = 3;

function shortName(name: unknown): string {
  const text = String(name);
  return `'${text.length > NAME_CHARACTERS ? `${text.slice(0, NAME_CHARACTERS)}…` : text}'`;
}

function listOf(names: unknown): string {
  if (!Array.isArray(names)) return "'?'";
  const shown = names.slice(0, NAMES).map(shortName).join(', ');
  return names.length > NAMES ? `${shown} and ${names.length - NAMES} more` : shown;
}

/**
 * Fastify's schemaErrorFormatter: one readable sentence for the first problems
 * of a request, e.g. "body/input must be string".
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const sentences = [...new Set(errors.map((error) => describe(error, dataVar)).filter((s) => s !== undefined))].slice(
    0,
    NAMES,
  );
  return new Error(sentences.join('; ') || `${dataVar} is invalid`);
}
