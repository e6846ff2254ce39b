/**
 * Request side of the edge: node-soap's `xmlToObject` turns the envelope into loose JS objects, and a normaliser
 * driven by the schema model (schema-model.ts) turns those into the values handlers get:
 *
 * - complex type -> object holding only the fields that were present (absent -> no key; handlers apply
 *   defaults). Unknown elements are ignored, as WCF does. Namespaces and prefixes are ignored (local names).
 * - int/short/long/... -> number, validated strictly (node-soap's parseInt would read "12abc" as 12) including the
 *   type's range; double/float/decimal -> number; boolean -> true/false/1/0; enum -> its name, checked;
 *   xs:list enum -> string[] (empty element -> []); dateTime -> Date, offset-less values read as UTC.
 *   A bad value throws SoapInputError naming the field path (`Webhook.WebhookId`).
 * - an empty or nil non-string simple element (`<NotifyVia/>`, Mono's nils) -> the type's default (0, false,
 *   [], the first enum name, 0001-01-01), never null; nil on a nillable element -> null; empty string -> ''.
 *   node-soap cannot tell an empty complex element from a nil one: both arrive as null.
 * - collections -> arrays of items; dictionaries -> arrays of {Key, Value} (the serializer's canonical form).
 * - xs:anyType -> typed by the local name of its xsi:type, whatever the prefix (`i:type="d7p1:int"` from WCF,
 *   `xsi:type="xs:int"` from zeep): string-like types -> string, integer types -> number (range-checked),
 *   double/float/decimal -> number, boolean, dateTime/date -> Date, ArrayOfstring -> string[], nil -> null.
 *   An untyped value (zeep/PHP users passing plain values) is read as its text, a string.
 *   Other xsi:types (complex types) are rejected with SoapInputError.
 * - strings keep their whitespace (node-soap trims unless told otherwise). One exception node-soap imposes: a
 *   whitespace-only xs:anyType string (`<Value i:type="b:string"> </Value>`) arrives as ''.
 *
 * Headers: the operation's declared request headers (ApplicationToken, Credentials, TimeZone), matched by local
 * name, normalised the same way (node-soap leaves them untyped); anything else (WS-Addressing...) is ignored.
 */
import type { OperationInfo, WsdlContract } from './wsdl-contract.js';
import { builtinType, type ComplexType, type Field, type ScalarType, type TypeDesc } from './schema-model.js';
import { parseXsdDateTime, WCF_MIN_DATE_TIME } from './wcf-date-time.js';
import { SoapInputError } from './soap-input-error.js';
import { SOAP11_ENV_NS, SOAP12_ENV_NS, SoapProtocolError } from './soap-fault.js';

export const ATTRIBUTES_KEY = '$attributes';
const VALUE_KEY = '$value';

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

export interface RawEnvelope {
  /** Local name of the single body element. */
  bodyElement: string;
  /** node-soap's loose object for it (normalise with readBody). */
  body: unknown;
  /** node-soap's loose object for the Header element, or null. */
  header: Record<string, unknown> | null;
}

export interface ParsedHeaders {
  headers: SoapRequestHeaders;
  /** The declared headers that were present, normalised, keyed by element name. */
  values: Record<string, unknown>;
}

export interface RequestParser {
  /** Envelope-level checks and parse; throws SoapProtocolError for anything that is not one SOAP 1.1 request. */
  readEnvelope(xml: string): RawEnvelope;
  /** The body wrapper's content, normalised; throws SoapInputError. */
  readBody(op: OperationInfo, rawBody: unknown): Record<string, unknown>;
  /** The operation's declared request headers, normalised; throws SoapInputError. */
  readHeaders(op: OperationInfo, rawHeader: Record<string, unknown> | null): ParsedHeaders;
}

// node-soap types leaves itself (leniently); these make it hand over the raw text so that we type it strictly.
const RAW_TEXT_TYPES = [
  'boolean', 'bool', 'int', 'integer', 'short', 'long', 'byte', 'unsignedByte', 'unsignedShort', 'unsignedInt',
  'unsignedLong', 'nonNegativeInteger', 'positiveInteger', 'nonPositiveInteger', 'negativeInteger', 'double', 'float',
  'decimal', 'dateTime', 'date',
];

/**
 * node-soap keeps only the last text or CDATA piece of an element (`x<![CDATA[<y>]]>&amp;` reads as `&`), so CDATA
 * sections are rewritten as escaped text first: one text node per element, the same characters. Comments are
 * matched first and left alone, so a CDATA opener inside a comment stays inside it.
 */
export function cdataAsText(xml: string): string {
  if (!xml.includes('<![CDATA[')) return xml;
  return xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>/g, (whole, inner: string | undefined) =>
    inner === undefined ? whole : inner.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/** Parser bound to one WSDL contract (it configures that contract's private node-soap instance). */
export function createRequestParser(contract: WsdlContract): RequestParser {
  const w = contract.soapWsdl;
  const raw = (text: string): string => text;
  w.options.customDeserializer = Object.fromEntries(RAW_TEXT_TYPES.map((t) => [t, raw]));
  w.options.attributesKey = ATTRIBUTES_KEY;
  w.options.preserveWhitespace = true;
  w.options.handleNilAsNull = true;

  return {
    readEnvelope(xml) {
      checkBeforeParse(xml);
      let parsed: unknown;
      try {
        parsed = w.xmlToObject(cdataAsText(xml));
      } catch (err) {
        // sax errors arrive as node-soap's {Fault:{...}} object; anything else is node-soap failing on a body
        // element it has no message for.
        const sax = typeof err === 'object' && err !== null && 'Fault' in err;
        throw new SoapProtocolError(500, 'Client', sax
          ? 'The request is not well-formed XML.'
          : 'The request could not be read: malformed XML or an unexpected body element.');
      }
      return envelopeParts(parsed);
    },
    readBody(op, rawBody) {
      const t = op.input.type;
      if (t.kind !== 'complex') throw new SoapProtocolError(500, 'Server', 'Unsupported operation input');
      if (rawBody === null || rawBody === undefined) return {};
      return readComplex(t, rawBody, '', 0) as Record<string, unknown>;
    },
    readHeaders(op, rawHeader) {
      const values: Record<string, unknown> = {};
      if (rawHeader) {
        for (const f of op.requestHeaders) {
          if (!Object.hasOwn(rawHeader, f.name)) continue;
          values[f.name] = readField(f, rawHeader[f.name], f.name, 0);
        }
      }
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
    },
  };
}

// ---------- envelope-level checks ----------

const DOCTYPE = /<!DOCTYPE/i;
const MAYBE_REF_ATTR = /\s(?:id|href)\s*=/;
const TAG = /<[^<>]*>/g;
const REF_ATTR = /\s(id|href)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const FORBIDDEN_REF_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

function dangerousRefName(v: string): boolean {
  // node-soap keeps multi-ref bookkeeping in a plain object keyed by these values (`refs[id]`, and for href the
  // value minus its first character). A name that exists on Object.prototype, or __proto__ itself, lets one
  // request corrupt state for the whole process; entity-encoded values are refused because we cannot see them.
  return v.includes('&') || FORBIDDEN_REF_NAMES.has(v) || v in Object.prototype;
}

function checkBeforeParse(xml: string): void {
  if (DOCTYPE.test(xml)) throw new SoapProtocolError(500, 'Client', 'DTDs are not allowed in SOAP messages.');
  if (MAYBE_REF_ATTR.test(xml)) {
    for (const tag of xml.match(TAG) ?? []) {
      for (const m of tag.matchAll(REF_ATTR)) {
        const v = m[2] ?? m[3] ?? '';
        if (dangerousRefName(v) || (m[1] === 'href' && dangerousRefName(v.slice(1)))) {
          throw new SoapProtocolError(500, 'Client', `Forbidden ${m[1]} attribute value.`);
        }
      }
    }
  }
  const root = rootElement(xml);
  if (!root) throw new SoapProtocolError(500, 'Client', 'The request is not well-formed XML.');
  if (root.ns === SOAP12_ENV_NS) {
    throw new SoapProtocolError(500, 'VersionMismatch', 'SOAP 1.2 messages are not supported; use SOAP 1.1 (text/xml).');
  }
  if (root.local !== 'Envelope' || root.ns !== SOAP11_ENV_NS) {
    throw new SoapProtocolError(500, 'VersionMismatch', 'The root element is not a SOAP 1.1 Envelope.');
  }
}

const PROLOG_SKIP = /\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->/y;
const START_TAG = /<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:\s+[^\s=<>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/y;
const XMLNS_ATTR = /\s(xmlns(?::([\w.-]+))?)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** The root element's local name and namespace, read from its own start tag (a root can only use its own declarations). */
function rootElement(xml: string): { local: string; ns: string | undefined } | null {
  let pos = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    PROLOG_SKIP.lastIndex = pos;
    if (!PROLOG_SKIP.test(xml)) break;
    pos = PROLOG_SKIP.lastIndex;
  }
  START_TAG.lastIndex = pos;
  const m = START_TAG.exec(xml);
  if (!m) return null;
  const prefix = m[1] ? m[1].slice(0, -1) : '';
  let ns: string | undefined;
  for (const a of m[3].matchAll(XMLNS_ATTR)) {
    if ((a[2] ?? '') === prefix) ns = a[3] ?? a[4];
  }
  return { local: m[2], ns };
}

function envelopeParts(parsed: unknown): RawEnvelope {
  if (!isObject(parsed)) throw new SoapProtocolError(500, 'Client', 'The request has no SOAP Body.');
  if (!Object.hasOwn(parsed, 'Body')) throw new SoapProtocolError(500, 'Client', 'The request has no SOAP Body.');
  const body = parsed.Body;
  const names = isObject(body) ? Object.keys(body).filter((k) => k !== ATTRIBUTES_KEY) : [];
  if (names.length === 0 || !isObject(body)) throw new SoapProtocolError(500, 'Client', 'The SOAP Body is empty.');
  if (names.length > 1 || Array.isArray(body[names[0]])) {
    throw new SoapProtocolError(500, 'Client', 'The SOAP Body must contain exactly one element.');
  }
  const header = Object.hasOwn(parsed, 'Header') && isObject(parsed.Header) ? parsed.Header : null;
  return { bodyElement: names[0], body: body[names[0]], header };
}

// ---------- normalisation ----------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function joinPath(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

function show(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

function defaultOf(t: TypeDesc): unknown {
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

// Recursive types (MDOListItem.ChildItems, SoExceptionInfo.InnerException) would let a request nest without
// bound; node-soap parses that iteratively, but this normaliser recurses.
const MAX_DEPTH = 64;

function readField(f: Field, raw: unknown, path: string, depth: number): unknown {
  if (f.repeated) {
    const items = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    return items.map((x, i) => readOne(f, x, `${path}[${i}]`, depth));
  }
  if (Array.isArray(raw)) throw new SoapInputError(path, `Element ${path} appears more than once.`);
  return readOne(f, raw, path, depth);
}

function readOne(f: Field, raw: unknown, path: string, depth: number): unknown {
  if (raw === null || raw === undefined) {
    // nil, or an empty element that node-soap collapsed to null
    if (f.nillable && (f.type.kind === 'complex' || f.type.kind === 'any' || isStringScalar(f.type))) return null;
    return defaultOf(f.type);
  }
  return readValue(f.type, raw, path, depth);
}

function isStringScalar(t: TypeDesc): boolean {
  return t.kind === 'scalar' && (t.scalar === 'string' || t.scalar === 'base64');
}

function readValue(t: TypeDesc, raw: unknown, path: string, depth: number): unknown {
  switch (t.kind) {
    case 'complex':
      return readComplex(t, raw, path, depth + 1);
    case 'any':
      return readAny(raw, path);
    default: {
      const text = simpleText(raw, path);
      if (t.kind === 'scalar') return readScalar(t, text, path);
      const trimmed = text.trim();
      if (t.kind === 'enum') {
        if (trimmed === '') return t.first;
        if (!t.values.has(trimmed)) {
          throw new SoapInputError(path, `Invalid value for ${path}: ${show(trimmed)} is not a ${t.name} value.`);
        }
        return trimmed;
      }
      const names = trimmed === '' ? [] : trimmed.split(/\s+/);
      for (const n of names) {
        if (t.values && !t.values.has(n)) {
          throw new SoapInputError(path, `Invalid value for ${path}: ${show(n)} is not a ${t.name} value.`);
        }
      }
      return names;
    }
  }
}

/** Text of a simple-typed element: node-soap gives a string, or {$attributes, $value} when it has attributes. */
function simpleText(raw: unknown, path: string): string {
  if (typeof raw === 'string') return raw;
  if (isObject(raw)) {
    for (const k of Object.keys(raw)) {
      if (k !== ATTRIBUTES_KEY && k !== VALUE_KEY) {
        throw new SoapInputError(path, `Invalid value for ${path}: expected a simple value, found element ${k}.`);
      }
    }
    const v = raw[VALUE_KEY];
    return v === undefined || v === null ? '' : String(v);
  }
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new SoapInputError(path, `Invalid value for ${path}.`);
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const DOUBLE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|-?INF|NaN)$/;

function readScalar(t: ScalarType, text: string, path: string): unknown {
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

function readComplex(t: ComplexType, raw: unknown, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new SoapInputError(path, `The request nests elements too deeply at ${path}.`);
  if (typeof raw === 'string') {
    if (raw.trim() === '') return t.collection ? [] : {};
    throw new SoapInputError(path || 'Body', `Invalid value for ${path || 'the body'}: expected elements, found text.`);
  }
  if (!isObject(raw)) throw new SoapInputError(path || 'Body', `Invalid value for ${path || 'the body'}.`);
  const coll = t.collection;
  if (coll) {
    const item = coll.item;
    const items = Object.hasOwn(raw, item.name) ? raw[item.name] : undefined;
    return readField(item, items, joinPath(path, item.name), depth);
  }
  const out: Record<string, unknown> = {};
  for (const f of t.fields) {
    if (Object.hasOwn(raw, f.name)) out[f.name] = readField(f, raw[f.name], joinPath(path, f.name), depth);
  }
  return out;
}

const XSD_STRING_LIKE_EXTRA = new Set(['guid', 'char']);

function readAny(raw: unknown, path: string): unknown {
  if (typeof raw === 'string') return raw; // untyped text (zeep/PHP plain values)
  if (!isObject(raw)) throw new SoapInputError(path, `Invalid value for ${path}.`);
  const attrs = raw[ATTRIBUTES_KEY];
  let typeName: string | undefined;
  if (isObject(attrs)) {
    for (const [k, v] of Object.entries(attrs)) {
      // xsi:type under whatever prefix the client chose (i:, xsi:, ...); node-soap drops the declarations.
      const colon = k.indexOf(':');
      if (colon > 0 && k.slice(colon + 1) === 'type' && typeof v === 'string') {
        const c = v.indexOf(':');
        typeName = c >= 0 ? v.slice(c + 1) : v;
        break;
      }
    }
  }
  if (typeName === undefined) {
    const children = Object.keys(raw).filter((k) => k !== ATTRIBUTES_KEY && k !== VALUE_KEY);
    if (children.length > 0) {
      throw new SoapInputError(path, `Invalid value for ${path}: an xs:anyType value with elements needs an xsi:type.`);
    }
    const v = raw[VALUE_KEY];
    return v === undefined || v === null ? '' : String(v);
  }
  if (typeName === 'ArrayOfstring') {
    const items = raw.string;
    const list = items === undefined ? [] : Array.isArray(items) ? items : [items];
    return list.map((x, i) => (x === null ? null : simpleText(x, `${path}.string[${i}]`)));
  }
  if (typeName === 'anyType') return simpleText(raw, path);
  if (XSD_STRING_LIKE_EXTRA.has(typeName)) {
    // guid (a string) and char (.NET writes a char as its UTF-16 code, an int)
    const text = simpleText(raw, path);
    return typeName === 'char' ? readScalar(builtinType('int') as ScalarType, text, path) : text;
  }
  const b = builtinType(typeName);
  if (!b || b.kind !== 'scalar') {
    throw new SoapInputError(path, `Invalid value for ${path}: xsi:type ${show(typeName)} is not supported here.`);
  }
  return readScalar(b, simpleText(raw, path), path);
}
