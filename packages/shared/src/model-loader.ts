import { createRequire, register } from 'node:module';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtFileUrl } from './built-file.js';
import { createMockModel } from './mock-model.js';
import { batchingPredict, type BatchSettings } from './model-batcher.js';
import { onText, schemaFault, schemasOf, servesInBatches, type ValuePredict } from './model-codec.js';
import type { CreateModelOptions, Model, ModelDefinition } from './model.js';

/**
 * MODEL_WORKERS as configured (`auto`, or a count) as a number of threads.
 * Here, not in model-pool.ts: that module (and piscina with it) is loaded
 * only when there are threads to run.
 */
export function workerCount(value: string): number {
  return value === 'auto' ? availableParallelism() : Number(value);
}

export interface ModelSettings {
  readonly MODEL_MODULE: string;
  readonly MODEL_MIN_LATENCY_MS: number;
  readonly MODEL_MAX_LATENCY_MS: number;
  readonly MODEL_MAX_BATCH_SIZE: number;
  readonly MODEL_MAX_BATCH_DELAY_MS: number;
  /** Worker threads that run the model; 0: in the process (config's `auto` is resolved by then). */
  readonly MODEL_WORKERS: number;
}

/** Sent in a header: visible ASCII, no spaces, bounded. */
const LABEL = /^[\x21-\x7e]{1,100}$/;
const LABEL_RULE = 'a string of 1 to 100 visible ASCII characters, no spaces';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A path (`./my-model.mjs`, `/opt/models/x.js`, `models/x.mjs`) is resolved
 * against the working directory; anything else is a package name.
 */
function isPath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);
}

/**
 * Imports MODEL_MODULE. A package is looked up from foretell's own location
 * first (the workspace's node_modules, or an app image's), then from the
 * working directory's node_modules (a package installed beside a deployment).
 */
async function importModule(spec: string, cwd: string): Promise<unknown> {
  if (isPath(spec)) return import(pathToFileURL(resolve(cwd, spec)).href);
  try {
    return await import(spec);
  } catch (ownError) {
    let found: string;
    try {
      found = createRequire(join(cwd, 'package.json')).resolve(spec);
    } catch {
      throw ownError;
    }
    return import(pathToFileURL(found).href);
  }
}

let hookRegistered = false;

/**
 * Lets a model module anywhere import this package by name (see
 * model-imports-hook.ts). Only for the built package, which the apps run:
 * under vitest this file is TypeScript source, which Node's hook thread
 * cannot load, and the tests' model files are inside the repository.
 */
function letModelsImportForetell(): void {
  if (hookRegistered || !import.meta.url.endsWith('.js')) return;
  hookRegistered = true;
  register(builtFileUrl('model-imports-hook.js'), { data: { shared: builtFileUrl('index.js') } });
}

/** What is wrong with what createModel() returned, one phrase per fault; empty when it fits. */
export function modelDefinitionFaults(value: unknown): string[] {
  if (typeof value !== 'object' || value === null)
    return [`it returned ${value === null ? 'null' : typeof value}, not an object`];
  const model = value as Record<string, unknown>;
  const faults: string[] = [];
  for (const field of ['name', 'version']) {
    const label = model[field];
    if (label === undefined) faults.push(`${field} is missing (${LABEL_RULE})`);
    else if (typeof label !== 'string' || !LABEL.test(label)) faults.push(`${field} must be ${LABEL_RULE}`);
  }
  for (const method of ['predict', 'predictBatch', 'load', 'close']) {
    if (model[method] !== undefined && typeof model[method] !== 'function') faults.push(`${method} is not a function`);
  }
  if (model.predict === undefined && model.predictBatch === undefined) {
    faults.push('it has neither predict(input, { signal }) nor predictBatch(inputs, { signal })');
  }
  for (const schema of ['inputSchema', 'outputSchema']) {
    const fault = schemaFault(schema, model[schema]);
    if (fault !== undefined) faults.push(fault);
  }
  return faults;
}

/**
 * The checked definition served one input at a time. A model with
 * `predictBatch` is called through the batcher (model-batcher.ts), which
 * gathers the calls that arrive together, unless batches are of one input
 * and it also has `predict`.
 */
export function serveDefinition(definition: ModelDefinition, batching: BatchSettings): Model {
  const { name, version } = definition;
  const schemas = schemasOf(definition);
  const lifecycle = {
    ...(definition.load && { load: () => definition.load?.() }),
    ...(definition.close && { close: () => definition.close?.() }),
    ...(schemas && { schemas }),
  };
  const batched = servesInBatches(definition, batching);
  const predict: ValuePredict = batched
    ? batchingPredict((inputs, options) => definition.predictBatch!(inputs, options), {
        ...batching,
        maxConcurrentBatches: 1,
      })
    : (input, options) => definition.predict!(input, options);
  return {
    name,
    version,
    ...lifecycle,
    // One call at a time; the consumer takes what makes the running batch and the next one.
    ...(batched && { capacity: 2 * batching.maxBatchSize }),
    predict: onText(predict, schemas),
  };
}

/** The one line a process prints when the model's `load()` rejects, before it exits 1. */
export function loadFailureMessage(settings: Pick<ModelSettings, 'MODEL_MODULE'>, error: unknown): string {
  const which = settings.MODEL_MODULE === '' ? 'the mock model' : `MODEL_MODULE ${settings.MODEL_MODULE}`;
  return `load() of ${which} failed: ${messageOf(error)}`;
}

/**
 * The model definition MODEL_MODULE names (a path or a package exporting
 * `createModel(options)`, sync or async), checked; the mock model's when it
 * is empty. A module that does not fit fails the start, not a request, with
 * one message naming every fault. `load()` is not called here.
 */
export async function loadDefinition(
  settings: ModelSettings,
  env: CreateModelOptions['env'] = process.env,
  cwd: string = process.cwd(),
): Promise<ModelDefinition> {
  if (settings.MODEL_MODULE === '') {
    return createMockModel({
      minLatencyMs: settings.MODEL_MIN_LATENCY_MS,
      maxLatencyMs: settings.MODEL_MAX_LATENCY_MS,
    }) as ModelDefinition;
  }
  const name = settings.MODEL_MODULE;
  // Each failure names the module and the step: the process's one line of error says what to fix.
  let module: { createModel?: unknown };
  letModelsImportForetell();
  try {
    module = (await importModule(name, cwd)) as { createModel?: unknown };
  } catch (error) {
    throw new Error(`MODEL_MODULE ${name} could not be imported: ${messageOf(error)}`, { cause: error });
  }
  if (typeof module.createModel !== 'function') {
    throw new TypeError(`MODEL_MODULE ${name} does not export a createModel function`);
  }
  let definition: unknown;
  try {
    const options: CreateModelOptions = { env };
    definition = await (module.createModel as (options: CreateModelOptions) => unknown)(options);
  } catch (error) {
    throw new Error(`createModel() of ${name} failed: ${messageOf(error)}`, { cause: error });
  }
  const faults = modelDefinitionFaults(definition);
  if (faults.length > 0) {
    throw new TypeError(`createModel() of ${name} returned a model that does not fit: ${faults.join('; ')}`);
  }
  return definition as ModelDefinition;
}

/** The batch settings of `settings`. */
export function batchSettingsOf(settings: ModelSettings): BatchSettings {
  return { maxBatchSize: settings.MODEL_MAX_BATCH_SIZE, maxBatchDelayMs: settings.MODEL_MAX_BATCH_DELAY_MS };
}

/**
 * The model a process serves: in the process itself, or, with
 * MODEL_WORKERS > 0, in a pool of worker threads that each load their own
 * copy (model-pool.ts); this process's copy is then only checked and named,
 * never loaded. The mock model is served in process unless workers are asked for.
 */
export async function loadModel(
  settings: ModelSettings,
  env: CreateModelOptions['env'] = process.env,
  cwd: string = process.cwd(),
): Promise<Model> {
  const definition = await loadDefinition(settings, env, cwd);
  if (settings.MODEL_MODULE === '' && settings.MODEL_WORKERS === 0) return definition as Model;
  if (settings.MODEL_WORKERS > 0) {
    const { createModelPool } = await import('./model-pool.js');
    return createModelPool(definition, { settings, env, cwd });
  }
  return serveDefinition(definition, batchSettingsOf(settings));
}
