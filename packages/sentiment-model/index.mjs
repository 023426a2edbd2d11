// foretell's example model: the sentiment of English text, with winkNLP and
// its English model (an npm package: nothing is downloaded at run time).
// It computes on the CPU (tokenizing, negation handling, scoring), answers
// in batches, and declares its input and output schemas:
//
//   MODEL_MODULE=@foretell/sentiment-model MODEL_WORKERS=auto npm start
//   {"input": {"text": "I love this movie"}} → {"label": "positive", "score": 0.5}
import { Type } from '@foretell/shared';
import englishModel from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';

/** Scores within ±NEUTRAL_BAND of 0 are `neutral` (SENTIMENT_NEUTRAL_BAND, 0 to 1). */
const DEFAULT_NEUTRAL_BAND = 0.05;

export const inputSchema = Type.Object(
  {
    text: Type.String({
      minLength: 1,
      maxLength: 10_000,
      description: 'English text, up to 10 000 characters.',
      examples: ['I love this movie, the acting is great.'],
    }),
  },
  { additionalProperties: false },
);

export const outputSchema = Type.Object(
  {
    label: Type.Union([Type.Literal('positive'), Type.Literal('negative'), Type.Literal('neutral')]),
    score: Type.Number({
      minimum: -1,
      maximum: 1,
      description: 'From -1 (most negative) to 1 (most positive), 4 decimals.',
      examples: [0.5],
    }),
  },
  { additionalProperties: false },
);

function neutralBand(env) {
  const raw = env.SENTIMENT_NEUTRAL_BAND;
  if (raw === undefined || raw === '') return DEFAULT_NEUTRAL_BAND;
  const band = Number(raw);
  if (!(band >= 0 && band <= 1))
    throw new RangeError(`SENTIMENT_NEUTRAL_BAND must be a number from 0 to 1, got "${raw}"`);
  return band;
}

export function createModel({ env }) {
  const band = neutralBand(env);
  let nlp;
  return {
    name: 'sentiment',
    version: '1.0.0',
    inputSchema,
    outputSchema,
    // The language model is read once per process (or per worker thread).
    load() {
      nlp = winkNLP(englishModel);
    },
    async predictBatch(inputs) {
      return inputs.map(({ text }) => {
        const score = Math.round(nlp.readDoc(text).out(nlp.its.sentiment) * 10_000) / 10_000;
        const label = score > band ? 'positive' : score < -band ? 'negative' : 'neutral';
        return { label, score };
      });
    },
  };
}
