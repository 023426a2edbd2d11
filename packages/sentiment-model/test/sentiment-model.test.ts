import { loadModel } from '@foretell/shared';
import { describe, expect, it } from 'vitest';
import { SENTIMENT_MODEL_SETTINGS } from '../../../test/support/sentiment-model.js';

// The example model as foretell loads it (MODEL_MODULE=@foretell/sentiment-model):
// by package name, checked, loaded, served in batches with its JSON schemas.

const SETTINGS = SENTIMENT_MODEL_SETTINGS;

const call = () => ({ signal: new AbortController().signal });

describe('@foretell/sentiment-model', () => {
  it('classifies English text: positive, negative (negation included) and neutral, each with its score', async () => {
    const model = await loadModel(SETTINGS, {});
    expect([model.name, model.version, model.schemas === undefined]).toEqual(['sentiment', '1.0.0', false]);
    await model.load?.();
    // Through the JSON codec, as the apps call it: JSON text in, JSON text out; together, one batch.
    const answers = await Promise.all(
      [
        'I love this movie, the acting is great.',
        'This was a terrible, boring waste of time.',
        'This is not good.',
        'The train leaves at noon.',
      ].map(async (text) => JSON.parse(await model.predict(JSON.stringify({ text }), call())) as unknown),
    );
    expect(answers).toEqual([
      { label: 'positive', score: 0.485 },
      { label: 'negative', score: -0.7333 },
      { label: 'negative', score: -0.776 },
      { label: 'neutral', score: 0 },
    ]);
  });

  it('reads its neutral band from SENTIMENT_NEUTRAL_BAND, and refuses a bad one at start', async () => {
    const wide = await loadModel(SETTINGS, { SENTIMENT_NEUTRAL_BAND: '0.5' });
    await wide.load?.();
    expect(await wide.predict('{"text":"I love this movie, the acting is great."}', call())).toBe(
      '{"label":"neutral","score":0.485}',
    );
    await expect(loadModel(SETTINGS, { SENTIMENT_NEUTRAL_BAND: 'wide' })).rejects.toThrow(
      'createModel() of @foretell/sentiment-model failed: SENTIMENT_NEUTRAL_BAND must be a number from 0 to 1, got "wide"',
    );
  });
});
