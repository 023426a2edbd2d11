import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { typeBoxValidatorCompiler } from '../src/validator-compiler.js';

const Headers = Type.Object({ 'async-mode': Type.Optional(Type.String()) });

describe('typeBoxValidatorCompiler', () => {
  it('passes a valid part without handing a value back (nothing is converted)', () => {
    const validate = typeBoxValidatorCompiler({ schema: Headers, httpPart: 'headers', method: 'POST', url: '/x' });
    const result = validate({ 'async-mode': 'true', host: 'x' });
    expect(result).toEqual({});
    expect(Object.hasOwn(result as object, 'value')).toBe(false);
    expect(validate({ 'async-mode': 1 })).toHaveProperty('error');
  });

  it("leaves request.headers as Node's own object, so reading it copies nothing", async () => {
    // Given a value back, Fastify assigns it to request.headers, and its getter
    // then merges a new object on every read.
    const app = Fastify();
    app.setValidatorCompiler(typeBoxValidatorCompiler);
    const reads: boolean[] = [];
    app.post('/x', { schema: { headers: Headers, body: Type.Object({ input: Type.String() }) } }, (request) => {
      reads.push(request.headers === request.raw.headers, request.headers === request.headers);
      return { ok: true };
    });
    const response = await app.inject({
      method: 'POST',
      url: '/x',
      headers: { 'async-mode': 'true' },
      payload: { input: 'a' },
    });
    await app.close();
    expect(response.statusCode).toBe(200);
    expect(reads).toEqual([true, true]);
  });
});
