/**
 * JSON for event data and webhook properties that keeps every digit, as NetServer's JSON serializer does: an
 * xs:long beyond 2^53 (a bigint here) and an xs:decimal a double cannot hold (an ExactNumber, its text) are written
 * with all their digits, and read back the same way. Non-finite doubles have no JSON number: NetServer writes
 * them as the strings "NaN", "Infinity" and "-Infinity" (jsonSafeNumbers). lossless-json does the text work.
 */
import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/** A number kept as its decimal text (xs:decimal beyond a double's precision, or with trailing zeros). */
export type ExactNumber = LosslessNumber;

export function isExactNumber(v: unknown): v is ExactNumber {
  return isLosslessNumber(v);
}

/**
 * An xs:decimal's value: a plain number when a double writes back the same digits, else its text, normalised as
 * .NET writes a decimal (no '+', no leading zeros, a 0 before a leading point, no trailing point).
 */
export function decimalValue(text: string): number | ExactNumber {
  let s = text.trim().replace(/^\+/, '');
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  const [whole, frac = ''] = s.split('.');
  const int = whole.replace(/^0+(?=\d)/, '') || '0';
  const digits = frac === '' ? int : `${int}.${frac}`;
  const norm = neg && /[1-9]/.test(digits) ? `-${digits}` : digits;
  const n = Number(norm);
  return String(n) === norm ? n : new LosslessNumber(norm);
}

/** Non-finite numbers as NetServer's JSON writes them; everything else unchanged. */
export function jsonSafeNumber(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/** JSON text with bigint and ExactNumber values written with all their digits (non-finite numbers: null). */
export function stringifyExact(v: unknown): string {
  return stringify(v) ?? 'null';
}

export const LONG_MIN = -(2n ** 63n);
export const LONG_MAX = 2n ** 63n - 1n;

/**
 * Parses JSON keeping every digit: numbers a double writes back unchanged as numbers, other integers of the xs:long
 * range as bigint, anything else as an ExactNumber.
 */
export function parseExact(text: string): unknown {
  return flattenStrings(parse(text, null, (s) => {
    const n = Number(s);
    if (String(n) === s) return n;
    if (/^-?\d+$/.test(s)) {
      const b = BigInt(s);
      if (b >= LONG_MIN && b <= LONG_MAX) return b;
    }
    return new LosslessNumber(s);
  }));
}

/**
 * lossless-json builds each string value a character at a time, which V8 keeps as a rope of one node per character:
 * a 300-character value held ~9 KB (and a 100,000-hook import 1.7 GB). Reading a character flattens a string in
 * place, so the parsed value holds plain strings.
 */
function flattenStrings(v: unknown): unknown {
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (typeof x === 'string') x.charCodeAt(0);
    else if (Array.isArray(x)) for (const e of x) stack.push(e);
    else if (x !== null && typeof x === 'object' && !isLosslessNumber(x)) for (const e of Object.values(x)) stack.push(e);
  }
  return v;
}
