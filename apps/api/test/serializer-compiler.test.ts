import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { buildSerializer } from '../src/serializer-compiler.js';

const Answer = Type.Object({ input: Type.String(), result: Type.String(), score: Type.Number() });
const route = (schema: unknown) => ({ schema, method: 'POST', url: '/predict', httpStatus: '200' });
const answer = { input: 'a "quoted" input', result: 'ok', score: 0.25, extra: 'dropped' };

type Serialize = (data: unknown) => string;

/**
 * Builds an app whose one route answers `answer` under the response schema
 * `Answer`, asks it once, and returns the body and the serializer Fastify
 * compiled for the route's 200.
 */
async function askApp(withOurs: boolean): Promise<{ body: string; serializer: Serialize | undefined }> {
  const app = Fastify(withOurs ? { schemaController: { compilersFactory: { buildSerializer } } } : {});
  let serializer: Serialize | undefined;
  app.get('/x', { schema: { response: { 200: Answer } } }, (_request, reply) => {
    serializer = reply.getSerializationFunction('200') as Serialize | undefined;
    return answer;
  });
  try {
    const { body } = await app.inject('/x');
    return { body, serializer };
  } finally {
    await app.close();
  }
}

describe('buildSerializer', () => {
  it("serializes as Fastify's own compiler does", () => {
    const ours = buildSerializer(undefined, undefined)(route(Answer));
    const fastifys = SerializerSelector()(undefined, undefined)(route(Answer));
    expect(ours(answer)).toBe(fastifys(answer));
    expect(ours(answer)).toBe('{"input":"a \\"quoted\\" input","result":"ok","score":0.25}');
  });

  it('compiles a schema once for every app of the process: the same function each time', () => {
    const first = buildSerializer({}, undefined)(route(Answer));
    const second = buildSerializer({}, undefined)(route(Answer));
    expect(second).toBe(first);
    // Another schema, even an equal one, is another key.
    const equal = buildSerializer({}, undefined)(route(Type.Object({ ...Answer.properties })));
    expect(equal).not.toBe(first);
    expect(equal(answer)).toBe(first(answer));
  });

  it('compiles anew, as Fastify would, when the app sets serializer options', () => {
    const Score = Type.Object({ score: Type.Integer() });
    const plain = buildSerializer(undefined, undefined)(route(Score));
    const ceil = buildSerializer(undefined, { rounding: 'ceil' })(route(Score));
    const again = buildSerializer(undefined, { rounding: 'ceil' })(route(Score));
    expect(ceil).not.toBe(plain);
    expect(again).not.toBe(ceil);
    expect(plain({ score: 1.2 })).toBe('{"score":1}');
    expect(ceil({ score: 1.2 })).toBe('{"score":2}');
  });

  it('compiles anew, as Fastify would, when the app has shared schemas (a $ref may name them)', () => {
    const shared = { result: { $id: 'result', type: 'object', properties: { result: { type: 'string' } } } };
    const schema = { $ref: 'result#' };
    const first = buildSerializer(shared, undefined)(route(schema));
    const second = buildSerializer(shared, undefined)(route(schema));
    expect(second).not.toBe(first);
    expect(first({ result: 'ok', other: 1 })).toBe('{"result":"ok"}');
  });

  it("in Fastify: a second app's route gets the first one's serializer, and answers the same", async () => {
    const first = await askApp(true);
    const second = await askApp(true);
    expect(first.body).toBe('{"input":"a \\"quoted\\" input","result":"ok","score":0.25}');
    expect(second.body).toBe(first.body);
    expect(first.serializer).toBeTypeOf('function');
    expect(second.serializer).toBe(first.serializer);
    // With Fastify's own compiler, each app compiles its own.
    const [one, two] = [await askApp(false), await askApp(false)];
    expect(two.body).toBe(first.body);
    expect(two.serializer).not.toBe(one.serializer);
  });
});
