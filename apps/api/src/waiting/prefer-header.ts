/**
 * The preferences of RFC 7240 foretell honours: `wait=N` (seconds) and
 * `respond-async`. Anything else, and any malformed preference, is ignored,
 * as the RFC asks: a `Prefer` header never makes a request fail.
 */
export interface Preferences {
  /** Seconds the client would wait for the job; undefined when absent or not a non-negative integer. */
  readonly wait: number | undefined;
  readonly respondAsync: boolean;
}

const NONE: Preferences = Object.freeze({ wait: undefined, respondAsync: false });
const DIGITS = /^[0-9]+$/;

/** A preference's value: a token or a quoted string (RFC 7240 `word`); parameters after `;` are not used. */
function valueOf(text: string): string {
  const value = text.split(';', 1)[0]?.trim() ?? '';
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * Parses one or more `Prefer` headers (Node joins repeated ones with `, `).
 * Of a preference given twice only the first counts (RFC 7240 §2). A value
 * holding a comma inside quotes is split there: neither of ours has one, so
 * at worst an unknown preference is misread, and it is ignored anyway.
 */
export function parsePrefer(header: string | readonly string[] | undefined): Preferences {
  if (header === undefined) return NONE;
  const text = typeof header === 'string' ? header : header.join(',');
  let wait: number | undefined;
  let waitSeen = false;
  let respondAsync = false;
  for (const item of text.split(',')) {
    const equals = item.indexOf('=');
    const semicolon = item.indexOf(';');
    const nameEnd = equals >= 0 && (semicolon < 0 || equals < semicolon) ? equals : semicolon;
    const name = (nameEnd >= 0 ? item.slice(0, nameEnd) : item).trim().toLowerCase();
    if (name === 'respond-async') respondAsync = true;
    else if (name === 'wait' && !waitSeen) {
      waitSeen = true;
      const value = nameEnd === equals && equals >= 0 ? valueOf(item.slice(equals + 1)) : '';
      // Past 2^53 a number is not exact, but any such wait is capped far below.
      if (DIGITS.test(value)) wait = Number(value);
    }
  }
  return wait === undefined && !respondAsync ? NONE : { wait, respondAsync };
}
