import { describe, expect, it } from 'vitest';
import { parsePrefer } from '../src/waiting/prefer-header.js';

describe('parsePrefer (RFC 7240)', () => {
  it.each([
    [undefined, undefined, false],
    ['wait=10', 10, false],
    ['WAIT = 10', 10, false],
    ['wait="7"', 7, false],
    ['respond-async', undefined, true],
    ['Respond-Async, wait=5', 5, true],
    ['wait=5; foo=bar, respond-async', 5, true],
    [['respond-async', 'wait=3'], 3, true],
    // The first of a repeated preference counts, even when it is malformed.
    ['wait=abc, wait=9', undefined, false],
    ['wait=2, wait=9', 2, false],
    // Malformed or unknown: ignored, never an error.
    ['wait=-1', undefined, false],
    ['wait=1.5', undefined, false],
    ['wait', undefined, false],
    ['wait=', undefined, false],
    ['handling=lenient, return=minimal', undefined, false],
    [';;,,==,', undefined, false],
    ['respond-async=no', undefined, true],
    ['', undefined, false],
  ] as const)('%j: wait %s, respond-async %s', (header, wait, respondAsync) => {
    expect(parsePrefer(header)).toEqual({ wait, respondAsync });
  });
});
