/**
 * The test oracle for src/soap/request-reader.ts: node-soap's own parse (`xmlToObject`, the reader the service
 * used before) plus a normaliser of its loose objects, driven by the same schema model. The differential test
 * (request-reader-differential.test.ts) requires both to give the same input or the same class of error.
 *
 * It is strict where the contract is: an element a type does not have, or text inside a complex element, is a
 * SoapInputError (the reader stops at it). What node-soap cannot do is left as node-soap does it and named in the
 * differential test: an empty complex element reads like nil; a whitespace-only xs:anyType string with attributes
 * reads as ''; multi-ref `href`s are resolved (the reader refuses them); prefixes need not be declared.
 */
import type { OperationInfo, WsdlContract } from '../../src/soap/wsdl-contract.js';
import type { ComplexType, Field, TypeDesc } from '../../src/soap/schema-model.js';
import { SoapInputError } from '../../src/soap/soap-input-error.js';
import { SOAP11_ENV_NS, SOAP12_ENV_NS, SoapProtocolError } from '../../src/soap/soap-fault.js';
import {
  headersOf, joinPath, localTypeName, nilValue, readSimple, readTypedAny, type ParsedHeaders,
} from '../../src/soap/request-values.js';
import type { ReadRequest } from '../../src/soap/request-reader.js';

export const ATTRIBUTES_KEY = '$attributes';
const VALUE_KEY = '$value';

export interface RawEnvelope {
  /** Local name of the single body element. */
  bodyElement: string;
  /** node-soap's loose object for it. */
  body: unknown;
  /** node-soap's loose object for the Header element, or null. */
  header: Record<string, unknown> | null;
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

/**
 * The oracle bound to one contract (it configures that contract's private node-soap instance). `read` has the
 * reader's signature: envelope parse, routing as soap-endpoint.ts does it, headers, body.
 */
export function createOracle(contract: WsdlContract): {
  read(xml: string, opByAction: OperationInfo | null, opByBody: (bodyElement: string) => OperationInfo): ReadRequest;
} {
  const w = contract.soapWsdl;
  const raw = (text: string): string => text;
  w.options.customDeserializer = Object.fromEntries(RAW_TEXT_TYPES.map((t) => [t, raw]));
  w.options.attributesKey = ATTRIBUTES_KEY;
  w.options.preserveWhitespace = true;
  w.options.handleNilAsNull = true;

  function readEnvelope(xml: string): RawEnvelope {
    checkBeforeParse(xml);
    let parsed: unknown;
    try {
      parsed = w.xmlToObject(cdataAsText(xml));
    } catch (err) {
      const sax = typeof err === 'object' && err !== null && 'Fault' in err;
      // Anything else is node-soap failing on its own: a body element it has no message for, or one of its bugs.
      throw new SoapProtocolError(500, 'Client', sax
        ? 'The request is not well-formed XML.'
        : `node-soap failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return envelopeParts(parsed);
  }

  function readHeaders(op: OperationInfo, rawHeader: Record<string, unknown> | null): ParsedHeaders {
    const values: Record<string, unknown> = {};
    if (rawHeader) {
      for (const f of op.requestHeaders) {
        if (!Object.hasOwn(rawHeader, f.name)) continue;
        values[f.name] = readField(f, rawHeader[f.name], f.name, 0);
      }
    }
    return headersOf(values);
  }

  return {
    read(xml, opByAction, opByBody) {
      const env = readEnvelope(xml);
      let op = opByAction;
      if (op) {
        if (op.input.name !== env.bodyElement) {
          throw new SoapProtocolError(500, 'Client', `The body element '${env.bodyElement}' does not match the SOAPAction.`);
        }
      } else {
        op = opByBody(env.bodyElement);
      }
      try {
        const headers = readHeaders(op, env.header);
        const body = env.body === null || env.body === undefined
          ? {} : readComplex(op.input.type as ComplexType, env.body, '', 0) as Record<string, unknown>;
        return { op, headers, body, error: null };
      } catch (err) {
        if (!(err instanceof SoapInputError)) throw err;
        return { op, headers: headersOf({}), body: {}, error: err };
      }
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
  // nil, or an empty element that node-soap collapsed to null
  if (raw === null || raw === undefined) return nilValue(f.nillable, f.type);
  return readValue(f.type, raw, path, depth);
}

function readValue(t: TypeDesc, raw: unknown, path: string, depth: number): unknown {
  switch (t.kind) {
    case 'complex':
      return readComplex(t, raw, path, depth + 1);
    case 'any':
      return readAny(raw, path);
    default:
      return readSimple(t, simpleText(raw, path), path);
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

/** Strict, as the contract is: an element the type does not have, or text among its elements, is refused. */
function refuseOthers(raw: Record<string, unknown>, allowed: (name: string) => boolean, path: string): void {
  for (const k of Object.keys(raw)) {
    if (k === ATTRIBUTES_KEY) continue;
    if (k === VALUE_KEY) {
      if (String(raw[k]).trim() === '') continue;
      throw new SoapInputError(path || 'Body', `Invalid value for ${path || 'the body'}: expected elements, found text.`);
    }
    if (!allowed(k)) throw new SoapInputError(joinPath(path, k), `Unexpected element ${k} in ${path || 'the body'}.`);
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
    refuseOthers(raw, (k) => k === item.name, path);
    const items = Object.hasOwn(raw, item.name) ? raw[item.name] : undefined;
    return readField(item, items, joinPath(path, item.name), depth);
  }
  refuseOthers(raw, (k) => t.fields.some((f) => f.name === k), path);
  const out: Record<string, unknown> = {};
  for (const f of t.fields) {
    if (Object.hasOwn(raw, f.name)) out[f.name] = readField(f, raw[f.name], joinPath(path, f.name), depth);
  }
  return out;
}

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
        typeName = localTypeName(v);
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
    refuseOthers(raw, (k) => k === 'string', path);
    const items = raw.string;
    const list = items === undefined ? [] : Array.isArray(items) ? items : [items];
    return list.map((x, i) => (x === null ? null : simpleText(x, `${path}.string[${i}]`)));
  }
  return readTypedAny(typeName, simpleText(raw, path), path);
}
