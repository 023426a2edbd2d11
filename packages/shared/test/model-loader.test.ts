import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mockResult } from '../src/mock-model.js';
import { loadModel } from '../src/model-loader.js';

const MOCK = { MODEL_MODULE: '', MODEL_MIN_LATENCY_MS: 0, MODEL_MAX_LATENCY_MS: 0 };

/** A model module of test/fixtures, by absolute path (the end-to-end tests start processes with the same files). */
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

const call = () => ({ signal: new AbortController().signal });

describe('loadModel', () => {
  it('serves the mock model when MODEL_MODULE is empty', async () => {
    const model = await loadModel(MOCK);
    expect(await model.predict('x', call())).toBe(mockResult('x'));
  });

  it('loads a module whose createModel() is synchronous', async () => {
    const model = await loadModel({ ...MOCK, MODEL_MODULE: fixture('model-sync.mjs') });
    expect(await model.predict('four', call())).toBe('1004');
  });

  it('resolves a relative MODEL_MODULE against the working directory', async () => {
    const model = await loadModel({ ...MOCK, MODEL_MODULE: `./${relative(process.cwd(), fixture('model-sync.mjs'))}` });
    expect(await model.predict('four', call())).toBe('1004');
  });

  it.each([
    [
      'exports no createModel',
      'model-no-factory.mjs',
      /^MODEL_MODULE .*model-no-factory\.mjs does not export a createModel function$/,
    ],
    [
      'returns no predict method',
      'model-no-predict.mjs',
      /^createModel\(\) of .*model-no-predict\.mjs did not return an object with a predict method$/,
    ],
    [
      'throws in createModel',
      'model-factory-throws.mjs',
      /^createModel\(\) of .*model-factory-throws\.mjs failed: model weights not found at \/nowhere\/weights\.bin$/,
    ],
  ])('fails, naming why, for a module that %s', async (_, name, message) => {
    await expect(loadModel({ ...MOCK, MODEL_MODULE: fixture(name) })).rejects.toThrow(message);
  });

  it('fails, naming the module, for a MODEL_MODULE that does not exist', async () => {
    const missing = fixture('model-missing.mjs');
    const failure = loadModel({ ...MOCK, MODEL_MODULE: missing });
    await expect(failure).rejects.toThrow(`MODEL_MODULE ${missing} could not be imported: Cannot find module`);
    await expect(failure).rejects.toMatchObject({ cause: { code: 'ERR_MODULE_NOT_FOUND' } });
  });
});
