import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mockResult } from '../src/mock-model.js';
import { loadModel } from '../src/model-loader.js';

const MOCK = { MODEL_MODULE: '', MODEL_MIN_LATENCY_MS: 0, MODEL_MAX_LATENCY_MS: 0 };

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function moduleFile(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'foretell-model-'));
  dirs.push(dir);
  const path = join(dir, 'model.mjs');
  await writeFile(path, source);
  return path;
}

describe('loadModel', () => {
  it('serves the mock model when MODEL_MODULE is empty', async () => {
    const model = await loadModel(MOCK);
    expect(await model.predict('x', { signal: new AbortController().signal })).toBe(mockResult('x'));
  });

  it("loads the user's model from MODEL_MODULE (async createModel)", async () => {
    const path = await moduleFile(
      'export async function createModel() { return { predict: async (input) => input.toUpperCase() }; }',
    );
    const model = await loadModel({ ...MOCK, MODEL_MODULE: path });
    expect(await model.predict('shout', { signal: new AbortController().signal })).toBe('SHOUT');
  });

  it('fails at start when the module does not fit the interface', async () => {
    const noFactory = await moduleFile('export const model = {};');
    await expect(loadModel({ ...MOCK, MODEL_MODULE: noFactory })).rejects.toThrow(/does not export a createModel/);
    const noPredict = await moduleFile('export function createModel() { return {}; }');
    await expect(loadModel({ ...MOCK, MODEL_MODULE: noPredict })).rejects.toThrow(/predict method/);
  });
});
