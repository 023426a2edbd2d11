import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mockResult } from '../src/mock-model.js';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOCK_MODEL } from '../src/mock-model.js';
import { loadFailureMessage, loadModel, modelDefinitionFaults, serveDefinition } from '../src/model-loader.js';
import type { ModelDefinition } from '../src/model.js';

const MOCK = {
  MODEL_MODULE: '',
  MODEL_MIN_LATENCY_MS: 0,
  MODEL_MAX_LATENCY_MS: 0,
  MODEL_MAX_BATCH_SIZE: 1,
  MODEL_MAX_BATCH_DELAY_MS: 0,
  MODEL_WORKERS: 0,
};
const ONE_AT_A_TIME = { maxBatchSize: 1, maxBatchDelayMs: 0 };

/** A model module of test/fixtures, by absolute path (the end-to-end tests start processes with the same files). */
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

const call = () => ({ signal: new AbortController().signal });

describe('loadModel', () => {
  it('serves the mock model when MODEL_MODULE is empty, named mock 1.0.0', async () => {
    const model = await loadModel(MOCK);
    expect(await model.predict('x', call())).toBe(mockResult('x'));
    expect([model.name, model.version]).toEqual([MOCK_MODEL.name, MOCK_MODEL.version]);
  });

  it('gives createModel() the environment it is given, and keeps the name, version, load and close', async () => {
    const log = join(await mkdtemp(join(tmpdir(), 'foretell-loader-')), 'lifecycle.log');
    try {
      const model = await loadModel(
        { ...MOCK, MODEL_MODULE: fixture('model-lifecycle.mjs') },
        { FIXTURE_LIFECYCLE_LOG: log },
      );
      expect([model.name, model.version]).toEqual(['lifecycle', '2.0.0-rc.1']);
      await model.load?.();
      await model.close?.();
      expect(await readFile(log, 'utf8')).toBe('load\nclose\n');
    } finally {
      await rm(join(log, '..'), { recursive: true, force: true });
    }
  });

  it('finds MODEL_MODULE by package name: from its own node_modules, then from the working directory', async () => {
    // @foretell/shared is installed in the workspace: found, and refused for what it exports.
    await expect(loadModel({ ...MOCK, MODEL_MODULE: '@foretell/shared' })).rejects.toThrow(
      'MODEL_MODULE @foretell/shared does not export a createModel function',
    );
    const cwd = await mkdtemp(join(tmpdir(), 'foretell-model-package-'));
    try {
      const dir = join(cwd, 'node_modules', '@acme', 'echo-model');
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({ name: '@acme/echo-model', type: 'module', exports: { '.': { default: './index.js' } } }),
      );
      await writeFile(
        join(dir, 'index.js'),
        "export const createModel = () => ({ name: 'echo', version: '3', predict: async (input) => input });\n",
      );
      const model = await loadModel({ ...MOCK, MODEL_MODULE: '@acme/echo-model' }, {}, cwd);
      expect([model.name, model.version, await model.predict('hi', call())]).toEqual(['echo', '3', 'hi']);
      await expect(loadModel({ ...MOCK, MODEL_MODULE: '@acme/missing-model' }, {}, cwd)).rejects.toThrow(
        /^MODEL_MODULE @acme\/missing-model could not be imported: Cannot find package '@acme\/missing-model'/,
      );
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
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
      'returns no name, version or predict method',
      'model-no-predict.mjs',
      new RegExp(
        '^createModel\\(\\) of .*model-no-predict\\.mjs returned a model that does not fit: ' +
          'name is missing \\(a string of 1 to 100 visible ASCII characters, no spaces\\); ' +
          'version is missing \\(a string of 1 to 100 visible ASCII characters, no spaces\\); ' +
          'it has neither predict\\(input, \\{ signal \\}\\) nor predictBatch\\(inputs, \\{ signal \\}\\)$',
      ),
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

describe('modelDefinitionFaults', () => {
  const fits = { name: 'm', version: '1', predict: async () => 'x' };

  it('accepts schemas: TypeBox or plain JSON Schema objects', () => {
    expect(
      modelDefinitionFaults({ ...fits, inputSchema: { type: 'object' }, outputSchema: { type: 'number' } }),
    ).toEqual([]);
  });

  it('accepts predict, predictBatch or both, with optional load and close', () => {
    expect(modelDefinitionFaults(fits)).toEqual([]);
    expect(modelDefinitionFaults({ name: 'm', version: '1', predictBatch: async () => [] })).toEqual([]);
    expect(modelDefinitionFaults({ ...fits, predictBatch: async () => [], load() {}, close() {} })).toEqual([]);
  });

  it.each([
    ['null', null, ['it returned null, not an object']],
    ['a string', 'model', ['it returned string, not an object']],
    [
      'a name with a space',
      { ...fits, name: 'my model' },
      ['name must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    [
      'an empty version',
      { ...fits, version: '' },
      ['version must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    [
      'a version that is a number',
      { ...fits, version: 1 },
      ['version must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    [
      'a name of 101 characters',
      { ...fits, name: 'n'.repeat(101) },
      ['name must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    [
      'a name with a line break (header injection)',
      { ...fits, name: 'm\r\nX-Evil: 1' },
      ['name must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    [
      'a non-ASCII name',
      { ...fits, name: 'modèle' },
      ['name must be a string of 1 to 100 visible ASCII characters, no spaces'],
    ],
    ['predict that is not a function', { name: 'm', version: '1', predict: 'yes' }, ['predict is not a function']],
    ['load that is not a function', { ...fits, load: true }, ['load is not a function']],
    ['close that is not a function', { ...fits, close: {} }, ['close is not a function']],
    [
      'an inputSchema that is not an object',
      { ...fits, inputSchema: 'object' },
      ['inputSchema is not a JSON Schema object'],
    ],
    ['an outputSchema that is an array', { ...fits, outputSchema: [] }, ['outputSchema is not a JSON Schema object']],
  ])('names every fault of %s', (_, value, faults) => {
    expect(modelDefinitionFaults(value)).toEqual(faults);
  });
});

describe('a model with predictBatch only', () => {
  const batchOnly = (outcomes: unknown): ModelDefinition => ({
    name: 'batch',
    version: '1',
    predictBatch: async () => outcomes as string[],
  });

  it('is called with a batch of one input, and its outcome is the answer', async () => {
    const seen: (readonly unknown[])[] = [];
    const model = serveDefinition(
      {
        name: 'batch',
        version: '1',
        predictBatch: async (inputs) => {
          seen.push(inputs);
          return inputs.map((input) => `<${String(input)}>`);
        },
      },
      ONE_AT_A_TIME,
    );
    expect(await model.predict('one', call())).toBe('<one>');
    expect(seen).toEqual([['one']]);
  });

  it("rejects with the input's own error when its outcome is an Error", async () => {
    const refused = Object.assign(new Error('not this one'), { retryable: false });
    await expect(serveDefinition(batchOnly([refused]), ONE_AT_A_TIME).predict('x', call())).rejects.toBe(refused);
  });

  it.each([
    ['no outcome', [], 'predictBatch() returned 0 outcomes for 1 input'],
    ['two outcomes', ['a', 'b'], 'predictBatch() returned 2 outcomes for 1 input'],
    ['no array', 'a', 'predictBatch() returned string for 1 input'],
  ])('fails, saying so, when it returns %s', async (_, outcomes, message) => {
    await expect(serveDefinition(batchOnly(outcomes), ONE_AT_A_TIME).predict('x', call())).rejects.toThrow(message);
  });
});

describe('loadFailureMessage', () => {
  it("names the module, or the mock model, and the error's message", () => {
    expect(loadFailureMessage({ MODEL_MODULE: './m.mjs' }, new Error('no weights'))).toBe(
      'load() of MODEL_MODULE ./m.mjs failed: no weights',
    );
    expect(loadFailureMessage({ MODEL_MODULE: '' }, 'boom')).toBe('load() of the mock model failed: boom');
  });
});
