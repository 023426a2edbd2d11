import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMockModel } from './mock-model.js';
import type { Model } from './model.js';

export interface ModelSettings {
  readonly MODEL_MODULE: string;
  readonly MODEL_MIN_LATENCY_MS: number;
  readonly MODEL_MAX_LATENCY_MS: number;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isModel(value: unknown): value is Model {
  return typeof value === 'object' && value !== null && typeof (value as { predict?: unknown }).predict === 'function';
}

/**
 * The model a process serves: the user's module when MODEL_MODULE names one
 * (it must export `createModel()`, sync or async, returning a Model), the mock
 * model otherwise. A module that does not fit fails the start, not a request.
 */
export async function loadModel(settings: ModelSettings): Promise<Model> {
  if (settings.MODEL_MODULE === '') {
    return createMockModel({
      minLatencyMs: settings.MODEL_MIN_LATENCY_MS,
      maxLatencyMs: settings.MODEL_MAX_LATENCY_MS,
    });
  }
  const name = settings.MODEL_MODULE;
  // Each failure names the module and the step: the process's one line of error says what to fix.
  let module: { createModel?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(name)).href)) as { createModel?: unknown };
  } catch (error) {
    throw new Error(`MODEL_MODULE ${name} could not be imported: ${messageOf(error)}`, { cause: error });
  }
  if (typeof module.createModel !== 'function') {
    throw new TypeError(`MODEL_MODULE ${name} does not export a createModel function`);
  }
  let model: unknown;
  try {
    model = await (module.createModel as () => unknown)();
  } catch (error) {
    throw new Error(`createModel() of ${name} failed: ${messageOf(error)}`, { cause: error });
  }
  if (!isModel(model)) {
    throw new TypeError(`createModel() of ${name} did not return an object with a predict method`);
  }
  return model;
}
