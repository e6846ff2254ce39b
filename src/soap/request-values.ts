/**
 * Typing of request values from their text, shared by the request reader (request-reader.ts) and its test oracle:
 *
 * - int/short/long/... -> number, validated strictly (12abc, 1.5, 0x10 are refused) including the type's range;
 *   double/float/decimal -> number; boolean -> true/false/1/0; enum -> its name, checked; xs:list enum -> string[]
 *   (empty element -> []); dateTime -> Date, offset-less values read as UTC.
 * - an empty non-string simple element -> the type's default (0, false, [], the first enum name, 0001-01-01).
 * A bad value throws SoapInputError naming the field path (`Webhook.WebhookId`).
 */
import { builtinType, type ScalarType, type TypeDesc } from './schema-model.js';
import { parseXsdDateTime, WCF_MIN_DATE_TIME } from './wcf-date-time.js';
import { SoapInputError } from './soap-input-error.js';
import { decimalValue, LONG_MAX, LONG_MIN } from '../webhooks/exact-json.js';

export interface SoapTimeZone {
  SoTimeZoneId?: number;
  SoTimeZoneLocationCode?: string | null;
}

export interface SoapRequestHeaders {
  applicationToken: string | null;
  /** Credentials/Ticket. */
  ticket: string | null;
  /** The TimeZone header as sent (echoed in the response), null when absent or nil. */
  timeZone: SoapTimeZone | null;
}

export interface ParsedHeaders {
  headers: SoapRequestHeaders;
  /** The declared headers that were present, normalised, keyed by element name. */
  values: Record<string, unknown>;
}

/** The well-known headers out of the declared header values. */
export function headersOf(values: Record<string, unknown>): ParsedHeaders {
  const creds = values.Credentials as { Ticket?: string | null } | null | undefined;
  const token = values.ApplicationToken;
  const tz = values.TimeZone;
  return {
    headers: {
      applicationToken: typeof token === 'string' ? token : null,
      ticket: typeof creds?.Ticket === 'string' ? creds.Ticket : null,
      timeZone: tz && typeof tz === 'object' ? (tz as SoapTimeZone) : null,
    },
    values,
  };
}

export function joinPath(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

export function show(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

export function defaultOf(t: TypeDesc): unknown {
  switch (t.kind) {
    case 'scalar':
      switch (t.scalar) {
        case 'string':
        case 'base64':
          return '';
        case 'boolean':
          return false;
        case 'integer':
        case 'number':
          return 0;
        case 'dateTime':
        case 'date':
          return new Date(WCF_MIN_DATE_TIME.getTime());
      }
      break;
    case 'enum':
      return t.first;
    case 'list':
      return [];
    case 'any':
      return null;
    case 'complex':
      return t.collection ? [] : {};
  }
}

export function isStringScalar(t: TypeDesc): boolean {
  return t.kind === 'scalar' && (t.scalar === 'string' || t.scalar === 'base64');
}

/** The value of an absent-content element: nil, or (node-soap's reading, kept) a complex element with nothing in it. */
export function nilValue(nillable: boolean, t: TypeDesc): unknown {
  if (nillable && (t.kind === 'complex' || t.kind === 'any' || isStringScalar(t))) return null;
  return defaultOf(t);
}

/** A simple (scalar, enum or list) value from the element's text. */
export function readSimple(t: TypeDesc, text: string, path: string): unknown {
  if (t.kind === 'scalar') return readScalar(t, text, path);
  const trimmed = text.trim();
  if (t.kind === 'enum') {
    if (trimmed === '') return t.first;
    if (!t.values.has(trimmed)) {
      throw new SoapInputError(path, `Invalid value for ${path}: ${show(trimmed)} is not a ${t.name} value.`);
    }
    return trimmed;
  }
  if (t.kind !== 'list') throw new SoapInputError(path, `Invalid value for ${path}.`);
  const names = trimmed === '' ? [] : trimmed.split(/\s+/);
  for (const n of names) {
    if (t.values && !t.values.has(n)) {
      throw new SoapInputError(path, `Invalid value for ${path}: ${show(n)} is not a ${t.name} value.`);
    }
  }
  return names;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const DOUBLE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|-?INF|NaN)$/;

export function readScalar(t: ScalarType, text: string, path: string): unknown {
  if (t.scalar === 'string') return text;
  const s = text.trim();
  const bad = (): never => {
    throw new SoapInputError(path, `Invalid value for ${path}: ${show(s)} is not a valid xs:${t.xsdName}.`);
  };
  if (s === '') return defaultOf(t);
  switch (t.scalar) {
    case 'base64':
      return /^[A-Za-z0-9+/=\s]*$/.test(s) ? s : bad();
    case 'boolean':
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return bad();
    case 'integer': {
      if (!INTEGER.test(s)) return bad();
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < t.min || n > t.max) {
        throw new SoapInputError(path, `Invalid value for ${path}: ${show(s)} is out of range for xs:${t.xsdName}.`);
      }
      return n === 0 ? 0 : n; // no -0
    }
    case 'number': {
      if (!(t.xsdName === 'decimal' ? DECIMAL : DOUBLE).test(s)) return bad();
      if (s === 'INF') return Infinity;
      if (s === '-INF') return -Infinity;
      return Number(s);
    }
    case 'dateTime':
    case 'date':
      return parseXsdDateTime(s, t.scalar === 'date') ?? bad();
  }
}

const XSD_STRING_LIKE_EXTRA = new Set(['guid', 'char']);
const WIDE_INTEGERS = new Map<string, [bigint, bigint]>([
  ['long', [LONG_MIN, LONG_MAX]],
  ['unsignedLong', [0n, 2n ** 64n - 1n]],
]);

/**
 * An xs:anyType value with a simple xsi:type (its local name, whatever the prefix): string-like types -> string,
 * integer types -> number (range-checked; an xs:long or unsignedLong beyond 2^53 -> bigint), double/float ->
 * number (NaN and INF included), decimal -> number, or an ExactNumber when a double would lose a digit of it,
 * boolean, dateTime/date -> Date;
 * guid is a string and char (.NET writes a char as its UTF-16 code) an int. Complex xsi:types are refused.
 */
export function readTypedAny(typeName: string, text: string, path: string): unknown {
  if (typeName === 'anyType') return text;
  const range = WIDE_INTEGERS.get(typeName);
  if (range) {
    // The whole xs:long (unsignedLong) range: beyond 2^53 the value is a bigint, so no digit is lost.
    const s = text.trim();
    if (INTEGER.test(s)) {
      const b = BigInt(s);
      if (b < range[0] || b > range[1]) {
        throw new SoapInputError(path, `Invalid value for ${path}: ${show(s)} is out of range for xs:${typeName}.`);
      }
      const n = Number(b);
      return Number.isSafeInteger(n) ? n : b;
    }
  }
  if (typeName === 'decimal') {
    const s = text.trim();
    if (DECIMAL.test(s)) return decimalValue(s);
  }
  if (XSD_STRING_LIKE_EXTRA.has(typeName)) {
    return typeName === 'char' ? readScalar(builtinType('int') as ScalarType, text, path) : text;
  }
  const b = builtinType(typeName);
  if (!b || b.kind !== 'scalar') {
    throw new SoapInputError(path, `Invalid value for ${path}: xsi:type ${show(typeName)} is not supported here.`);
  }
  return readScalar(b, text, path);
}

/** Local name of an xsi:type value (`d7p1:int` -> `int`). */
export function localTypeName(v: string): string {
  const c = v.indexOf(':');
  return c >= 0 ? v.slice(c + 1) : v;
}
