import type { TSchema } from 'typebox';
import { Compile } from './typebox.js';
import type { BatchSettings } from './model-batcher.js';
import type { JsonSchema, Model, ModelDefinition, ModelSchemas, PredictOptions } from './model.js';

/** A model's predict on values (what the batcher and the pool pass along). */
export type ValuePredict = (input: unknown, options: PredictOptions) => Promise<unknown>;

/** `input` when a model declares only an outputSchema: a non-empty string, as without schemas. */
export const DEFAULT_INPUT_SCHEMA: JsonSchema = { type: 'string', minLength: 1 };
/** The result when a model declares only an inputSchema: any JSON. */
export const ANY_JSON: JsonSchema = {};

/** The schemas of a definition that declares any, with the defaults for the other; undefined for a string model. */
export function schemasOf(definition: ModelDefinition): ModelSchemas | undefined {
  if (definition.inputSchema === undefined && definition.outputSchema === undefined) return undefined;
  return { input: definition.inputSchema ?? DEFAULT_INPUT_SCHEMA, output: definition.outputSchema ?? ANY_JSON };
}

/** Why a declared schema cannot be used, or undefined when it compiles. */
export function schemaFault(name: string, schema: unknown): string | undefined {
  if (schema === undefined) return undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return `${name} is not a JSON Schema object`;
  try {
    Compile(schema as TSchema);
    return undefined;
  } catch (error) {
    return `${name} does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * A JSON model served on text: the apps carry its inputs and results as
 * JSON text (through Redis, and sync alike, so both paths see the same
 * values); here the input is parsed for the model, and its result checked
 * against the output schema and written back as text. A result that does not
 * match is a failed prediction, named in the logs.
 */
export function jsonCodec(predict: ValuePredict, schemas: ModelSchemas): Model['predict'] {
  const output = Compile(schemas.output as TSchema);
  return async (text, options) => {
    const result = await predict(JSON.parse(text), options);
    if (result === undefined || !output.Check(result)) {
      const [first] = result === undefined ? [] : output.Errors(result);
      const where = first?.instancePath ? `${first.instancePath} ` : '';
      throw new TypeError(
        `the model's result does not match its outputSchema: ${result === undefined ? 'no result' : `${where}${first?.message ?? 'is invalid'}`}`,
      );
    }
    return JSON.stringify(result);
  };
}

/** Whether a definition is served through the batcher: it has predictBatch, and batches are larger than one or it has no predict. */
export function servesInBatches(definition: ModelDefinition, batching: BatchSettings): boolean {
  return definition.predictBatch !== undefined && (batching.maxBatchSize > 1 || definition.predict === undefined);
}

/** `predict` as the apps call it: on JSON text for a model with schemas, as it is (strings) otherwise. */
export function onText(predict: ValuePredict, schemas: ModelSchemas | undefined): Model['predict'] {
  return schemas ? jsonCodec(predict, schemas) : (predict as Model['predict']);
}
