import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@foretell/shared';
import { describe, expect, it } from 'vitest';

// The README's model example runs as written: the block under "Plugging in
// your own model" that starts with `// my-model.mjs`, saved as that file and
// loaded the way the apps load MODEL_MODULE.

async function readmeModel(): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split('\n### Plugging in your own model\n')[1] ?? '';
  const block = /```js\n(\/\/ my-model\.mjs\n[\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('no `// my-model.mjs` block under "Plugging in your own model"');
  return block;
}

const call = () => ({ signal: new AbortController().signal });
const SETTINGS = {
  MODEL_MIN_LATENCY_MS: 0,
  MODEL_MAX_LATENCY_MS: 0,
  MODEL_MAX_BATCH_SIZE: 32,
  MODEL_MAX_BATCH_DELAY_MS: 0,
  MODEL_WORKERS: 0,
};

describe("the README's my-model.mjs", () => {
  it('loads as MODEL_MODULE=./my-model.mjs, loads, predicts with its setting and closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'foretell-readme-model-'));
    try {
      await writeFile(join(dir, 'my-model.mjs'), await readmeModel());
      const model = await loadModel({ ...SETTINGS, MODEL_MODULE: './my-model.mjs' }, {}, dir);
      expect([model.name, model.version]).toEqual(['word-count', '1.0.0']);
      await model.load?.();
      expect(await model.predict('a good day, a great day', call())).toBe('2');
      await model.close?.();

      const tuned = await loadModel({ ...SETTINGS, MODEL_MODULE: './my-model.mjs' }, { MY_MODEL_WORDS: 'day' }, dir);
      await tuned.load?.();
      expect(await tuned.predict('a good day, a great day', call())).toBe('1');

      const aborted = new AbortController();
      aborted.abort(new Error('client gone'));
      await expect(tuned.predict('x', { signal: aborted.signal })).rejects.toThrow('client gone');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
