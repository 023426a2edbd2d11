import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMockModel } from './mock-model.js';
import type { Model } from './model.js';

export interface ModelSettings {
  readonly MODEL_MODULE: string;
  readonly MODEL_MIN_LATENCY_MS: number;
  readonly MODEL_MAX_LATENCY_MS: number;
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
  const url = pathToFileURL(resolve(settings.MODEL_MODULE)).href;
  const module = (await import(url)) as { createModel?: unknown };
  if (typeof module.createModel !== 'function') {
    throw new TypeError(`MODEL_MODULE ${settings.MODEL_MODULE} does not export a createModel function`);
  }
  const model: unknown = await (module.createModel as () => unknown)();
  if (!isModel(model)) {
    throw new TypeError(`createModel() of ${settings.MODEL_MODULE} did not return an object with a predict method`);
  }
  return model;
}
