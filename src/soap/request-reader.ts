/**
 * The request reader: one pass over the envelope with saxes (a strict, non-validating, namespace-aware XML
 * tokenizer: no DTD, no entities beyond XML's five and character references), driven by the schema model that
 * node-soap loads from our WSDL (schema-model.ts, the model the serializer is compiled from), so the served WSDL
 * and what is read cannot drift. Header and body are read together and mapped straight to the operation's input:
 *
 * - Envelope: the root must be a SOAP 1.1 Envelope (SOAP 1.2 -> VersionMismatch); one Body holding exactly one
 *   element, which selects the operation (or must match the one its SOAPAction named). DOCTYPEs, malformed XML,
 *   and multi-reference `href` values are protocol faults.
 * - Headers: the operation's declared headers (ApplicationToken, Credentials, TimeZone), by local name; any other
 *   header (WS-Addressing...) is skipped.
 * - Body: each element must be a member of its parent's type (local names; any order). The first element the
 *   contract does not allow (unknown, repeated where it may not be, an element inside a simple value, text in a
 *   complex one, nesting deeper than MAX_COMPLEX_DEPTH) ends the read at once with a SoapInputError naming the
 *   path: the rest of the request is not looked at. A bad value (`<WebhookId>12abc</WebhookId>`) is recorded and
 *   the read goes on, so that a later protocol problem still wins, as it did when node-soap parsed first.
 * - Counting: more than maxElements elements (an input error naming where, in the body) or maxDepth nesting
 *   anywhere (a protocol fault) ends the read, so that even skipped headers cost bounded work before
 *   authentication.
 *
 * Values follow request-values.ts. Kept from the node-soap reader this replaces (its parse is the oracle of the
 * differential test): an empty complex element without attributes reads like nil (null when nillable, else {} or
 * []); a nil or empty element of a non-string simple type reads as the type's default; strings keep whitespace.
 */
import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import type { OperationInfo, WsdlContract } from './wsdl-contract.js';
import { XSI_NS, type ComplexType, type Field } from './schema-model.js';
import { SoapInputError } from './soap-input-error.js';
import { SOAP11_ENV_NS, SOAP12_ENV_NS, SoapProtocolError } from './soap-fault.js';
import {
  headersOf, joinPath, localTypeName, nilValue, readSimple, readTypedAny, show, type ParsedHeaders,
} from './request-values.js';

export interface ReaderLimits {
  /** Elements in one request, all included; default 65536 (WCF's MaxItemsInObjectGraph). */
  maxElements?: number;
  /** Element nesting anywhere in the envelope; default 128. */
  maxDepth?: number;
}

export interface ReadRequest {
  op: OperationInfo;
  headers: ParsedHeaders;
  /** The body wrapper's content keyed by WSDL element names; absent elements have no key. */
  body: Record<string, unknown>;
  /** The first input error (bad value or disallowed element); headers and body are then incomplete. */
  error: SoapInputError | null;
}

export interface RequestReader {
  /**
   * Read one envelope. `opByAction` is the operation the SOAPAction named, or null to select it by the body
   * element with `opByBody` (which throws a SoapProtocolError for an unknown one). Protocol problems throw
   * SoapProtocolError; input errors are returned in `error`.
   */
  read(xml: string, opByAction: OperationInfo | null, opByBody: (bodyElement: string) => OperationInfo): ReadRequest;
}

/** Recursive types (MDOListItem.ChildItems, SoExceptionInfo.InnerException) could nest without bound. */
export const MAX_COMPLEX_DEPTH = 64;
const DEFAULT_MAX_ELEMENTS = 65536;
const DEFAULT_MAX_DEPTH = 128;
const FORBIDDEN_IDS = new Set(['__proto__', 'constructor', 'prototype']);

const enum K { Root, Envelope, Header, Body, Skip, Complex, Simple, Any, AnyItem }

interface Frame {
  k: K;
  /** The member this element fills (null for envelope frames). */
  f: Field | null;
  path: string;
  nil: boolean;
  /** Has attributes other than namespace declarations. */
  attrs: boolean;
  text: string;
  /** Complex: members read so far. */
  out: Record<string, unknown> | null;
  /** Collections and ArrayOfstring values: items read so far. */
  items: unknown[] | null;
  children: number;
  /** Complex nesting depth (the body wrapper is 0, a header 1). */
  depth: number;
  /** xs:anyType: the local name of its xsi:type. */
  xsiType: string | null;
}

const ARRAY_OF_STRING_ITEM: Field = Object.freeze({
  name: 'string', ns: '', nillable: true, minOccurs: 0, repeated: true,
  type: Object.freeze({ kind: 'scalar' as const, xsdName: 'string', scalar: 'string' as const, min: 0, max: 0 }),
});

class Stop extends Error {
  constructor(readonly inputError: SoapInputError) {
    super(inputError.message);
  }
}

/** Members by local name, computed once per complex type. */
const memberTables = new WeakMap<ComplexType, ReadonlyMap<string, Field>>();
function membersOf(t: ComplexType): ReadonlyMap<string, Field> {
  let m = memberTables.get(t);
  if (!m) {
    m = new Map(t.fields.map((f) => [f.name, f]));
    memberTables.set(t, m);
  }
  return m;
}

export function createRequestReader(contract: WsdlContract, limits: ReaderLimits = {}): RequestReader {
  const maxElements = limits.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  // Header elements any operation declares; which of them count is decided once the operation is known.
  const declaredHeaders = new Map<string, Field>();
  for (const op of contract.operations.values()) {
    for (const h of op.requestHeaders) {
      const seen = declaredHeaders.get(h.name);
      if (seen && seen !== h) throw new Error(`WSDL: header ${h.name} is declared with two types`);
      declaredHeaders.set(h.name, h);
    }
  }
  for (const op of contract.operations.values()) {
    if (op.input.type.kind !== 'complex' || op.input.type.collection) {
      throw new Error(`WSDL: the input of ${op.name} is not a wrapper element`);
    }
  }

  return {
    read(xml, opByAction, opByBody) {
      let op: OperationInfo | null = opByAction;
      let headerError: SoapInputError | null = null;
      let bodyError: SoapInputError | null = null;
      const headerValues: Record<string, unknown> = {};
      let body: Record<string, unknown> | null = null;
      let bodyElements = 0;
      let sawBody = false;
      let sawHeader = false;
      let headersDiscarded = false;
      let elements = 0;
      const stack: Frame[] = [frame(K.Root, null, '', 0)];

      const record = (e: SoapInputError): void => {
        if (stack.some((s) => s.k === K.Body)) bodyError ??= e;
        else headerError ??= e;
      };
      // Header errors first, as when headers were read before the body; none when the headers are not read.
      const firstError = (): SoapInputError | null => (headersDiscarded ? null : headerError) ?? bodyError;
      /** A disallowed element or text: stop here once the operation is known, else note it and skip. */
      const refuse = (e: SoapInputError): Frame => {
        if (op && stack.some((s) => s.k === K.Body)) throw new Stop(e);
        record(e);
        return frame(K.Skip, null, '', 0);
      };

      const parser = new SaxesParser({ xmlns: true, position: false });
      parser.on('error', () => {
        throw new SoapProtocolError(500, 'Client', 'The request is not well-formed XML.');
      });
      parser.on('doctype', () => {
        throw new SoapProtocolError(500, 'Client', 'DTDs are not allowed in SOAP messages.');
      });
      parser.on('opentag', (tag) => {
        if (++elements > maxElements) {
          const top = stack[stack.length - 1];
          // In the body, an input error naming where the count ran out (usually an oversized list).
          if (op && top.k !== K.Skip && stack.some((s) => s.k === K.Body)) {
            const at = top.path || 'Body';
            throw new Stop(new SoapInputError(at, `The request has more than ${maxElements} elements; refused in ${at}.`));
          }
          throw new SoapProtocolError(500, 'Client', `The request has more than ${maxElements} elements.`);
        }
        if (stack.length > maxDepth) {
          throw new SoapProtocolError(500, 'Client', `The request nests elements more than ${maxDepth} deep.`);
        }
        const top = stack[stack.length - 1];
        top.children++;
        const next = open(top, tag);
        readAttributes(next, tag.attributes as Record<string, SaxesAttributeNS>);
        if (next.nil) {
          // node-soap's readings, kept: a nil Body is an empty one, a nil Header has no headers.
          if (next.k === K.Body) throw new SoapProtocolError(500, 'Client', 'The SOAP Body is empty.');
          if (next.k === K.Header) next.k = K.Skip;
        }
        stack.push(next);
      });
      parser.on('text', (t) => addText(t));
      parser.on('cdata', (t) => addText(t));
      parser.on('closetag', () => close(stack.pop() as Frame));

      function addText(t: string): void {
        const top = stack[stack.length - 1];
        switch (top.k) {
          case K.Simple:
          case K.Any:
          case K.AnyItem:
            top.text += t;
            break;
          case K.Complex:
            if (!top.nil && t.trim() !== '') {
              const where = top.path || 'the body';
              const e = new SoapInputError(top.path || 'Body', `Invalid value for ${where}: expected elements, found text.`);
              if (op && stack.some((s) => s.k === K.Body)) throw new Stop(e);
              record(e);
              top.k = K.Skip;
            }
            break;
          case K.Header:
            // node-soap's reading, kept: a Header with text in it has no headers.
            if (t.trim() !== '') headersDiscarded = true;
            break;
          case K.Envelope:
          case K.Body:
            if (t.trim() !== '') throw new SoapProtocolError(500, 'Client', 'Text is not allowed in the SOAP Envelope, Header or Body.');
            break;
          default:
            break;
        }
      }

      function open(top: Frame, tag: SaxesTagNS): Frame {
        const local = tag.local;
        switch (top.k) {
          case K.Root:
            if (local === 'Envelope' && tag.uri === SOAP11_ENV_NS) return frame(K.Envelope, null, '', 0);
            if (tag.uri === SOAP12_ENV_NS) {
              throw new SoapProtocolError(500, 'VersionMismatch', 'SOAP 1.2 messages are not supported; use SOAP 1.1 (text/xml).');
            }
            throw new SoapProtocolError(500, 'VersionMismatch', 'The root element is not a SOAP 1.1 Envelope.');
          case K.Envelope:
            // Body and Header count only in the envelope's namespace: a look-alike in another one is refused, not
            // read as the message (WCF faults it too).
            if ((local === 'Body' || local === 'Header') && tag.uri !== SOAP11_ENV_NS) {
              throw new SoapProtocolError(500, 'Client',
                `The SOAP ${local} must be in the SOAP 1.1 envelope namespace (${SOAP11_ENV_NS}), not '${show(tag.uri)}'.`);
            }
            if (local === 'Body') {
              if (sawBody) throw new SoapProtocolError(500, 'Client', 'The SOAP Body is empty.');
              sawBody = true;
              return frame(K.Body, null, '', 0);
            }
            if (local === 'Header') {
              // Two Headers: neither is read (node-soap's reading, kept: no credentials rather than a guess).
              if (sawHeader) headersDiscarded = true;
              sawHeader = true;
              return frame(sawHeader && headersDiscarded ? K.Skip : K.Header, null, '', 0);
            }
            return frame(K.Skip, null, '', 0);
          case K.Header: {
            const f = declaredHeaders.get(local);
            if (!f || (op && !op.requestHeaders.includes(f))) return frame(K.Skip, null, '', 0);
            if (Object.hasOwn(headerValues, f.name)) {
              return refuse(new SoapInputError(f.name, `Element ${f.name} appears more than once.`));
            }
            return memberFrame(f, f.name, 0);
          }
          case K.Body: {
            if (++bodyElements > 1) throw new SoapProtocolError(500, 'Client', 'The SOAP Body must contain exactly one element.');
            if (op) {
              if (op.input.name !== local) {
                throw new SoapProtocolError(500, 'Client',
                  `The body element '${local}' does not match the SOAPAction of operation ${op.name}.`);
              }
            } else {
              op = opByBody(local);
            }
            if (tag.uri !== op.input.ns) {
              throw new SoapProtocolError(500, 'Client',
                `The body element '${local}' must be in the namespace ${op.input.ns}, not '${show(tag.uri)}'.`);
            }
            const wrapper = frame(K.Complex, op.input, '', 0);
            wrapper.out = {};
            return wrapper;
          }
          case K.Skip:
            return frame(K.Skip, null, '', 0);
          case K.Complex: {
            if (top.nil) return frame(K.Skip, null, '', 0);
            const t = (top.f as Field).type as ComplexType;
            if (t.collection) {
              const item = t.collection.item;
              if (local !== item.name) return refuse(unexpected(local, top.path));
              return memberFrame(item, `${joinPath(top.path, item.name)}[${(top.items as unknown[]).length}]`, top.depth);
            }
            const f = membersOf(t).get(local);
            if (!f) return refuse(unexpected(local, top.path));
            const out = top.out as Record<string, unknown>;
            const path = joinPath(top.path, f.name);
            if (!f.repeated) {
              if (Object.hasOwn(out, f.name)) return refuse(new SoapInputError(path, `Element ${path} appears more than once.`));
              return memberFrame(f, path, top.depth);
            }
            const n = Object.hasOwn(out, f.name) ? (out[f.name] as unknown[]).length : 0;
            return memberFrame(f, `${path}[${n}]`, top.depth);
          }
          case K.Any:
            if (top.nil) return frame(K.Skip, null, '', 0);
            if (top.xsiType === 'ArrayOfstring') {
              if (local !== 'string') return refuse(unexpected(local, top.path));
              return frame(K.AnyItem, ARRAY_OF_STRING_ITEM, `${top.path}.string[${(top.items as unknown[]).length}]`, top.depth);
            }
            if (top.xsiType === null) {
              return refuse(new SoapInputError(top.path,
                `Invalid value for ${top.path}: an xs:anyType value with elements needs an xsi:type.`));
            }
            return refuse(new SoapInputError(top.path, `Invalid value for ${top.path}: expected a simple value, found element ${local}.`));
          case K.Simple:
          case K.AnyItem:
            if (top.nil) return frame(K.Skip, null, '', 0);
            return refuse(new SoapInputError(top.path, `Invalid value for ${top.path}: expected a simple value, found element ${local}.`));
        }
      }

      function memberFrame(f: Field, path: string, parentDepth: number): Frame {
        const t = f.type;
        switch (t.kind) {
          case 'complex': {
            const depth = parentDepth + 1;
            if (depth > MAX_COMPLEX_DEPTH) {
              return refuse(new SoapInputError(path, `The request nests elements too deeply at ${path}.`));
            }
            const fr = frame(K.Complex, f, path, depth);
            if (t.collection) fr.items = [];
            else fr.out = {};
            return fr;
          }
          case 'any':
            return frame(K.Any, f, path, parentDepth);
          default:
            return frame(K.Simple, f, path, parentDepth);
        }
      }

      function readAttributes(fr: Frame, attributes: Record<string, SaxesAttributeNS>): void {
        for (const name in attributes) {
          const a = attributes[name];
          if (a.prefix === 'xmlns' || name === 'xmlns') continue;
          fr.attrs = true;
          if (a.uri === XSI_NS) {
            if (a.local === 'nil') {
              if (a.value === '1' || a.value.toLowerCase() === 'true') fr.nil = true;
            } else if (a.local === 'type' && fr.k === K.Any) {
              fr.xsiType = localTypeName(a.value);
              if (fr.xsiType === 'ArrayOfstring') fr.items = [];
            }
          } else if (name === 'href') {
            throw new SoapProtocolError(500, 'Client', 'Multi-reference values (href) are not supported.');
          } else if (name === 'id' && (FORBIDDEN_IDS.has(a.value) || a.value in Object.prototype)) {
            throw new SoapProtocolError(500, 'Client', 'Forbidden id attribute value.');
          }
        }
      }

      function valueOf(fr: Frame): unknown {
        const f = fr.f as Field;
        const t = f.type;
        if (fr.nil) return nilValue(f.nillable, t);
        switch (fr.k) {
          case K.Complex:
            if (fr.children === 0 && !fr.attrs) return nilValue(f.nillable, t);
            return fr.items ?? fr.out;
          case K.Simple:
            if (fr.text === '' && !fr.attrs && t.kind === 'scalar' && t.scalar === 'base64') return nilValue(f.nillable, t);
            return readSimple(t, fr.text, fr.path);
          case K.Any:
            if (fr.xsiType === 'ArrayOfstring') return fr.items;
            if (fr.xsiType !== null) return readTypedAny(fr.xsiType, fr.text, fr.path);
            if (!fr.attrs && fr.text.trim() === '') return null;
            return fr.text;
          case K.AnyItem:
            return fr.text;
          default:
            return undefined;
        }
      }

      function close(fr: Frame): void {
        switch (fr.k) {
          case K.Envelope:
            if (!sawBody) throw new SoapProtocolError(500, 'Client', 'The request has no SOAP Body.');
            return;
          case K.Body:
            if (bodyElements === 0) throw new SoapProtocolError(500, 'Client', 'The SOAP Body is empty.');
            return;
          case K.Root:
          case K.Header:
          case K.Skip:
            return;
          default:
            break;
        }
        let v: unknown;
        try {
          v = valueOf(fr);
        } catch (e) {
          if (!(e instanceof SoapInputError)) throw e;
          record(e);
          v = undefined;
        }
        const parent = stack[stack.length - 1];
        const f = fr.f as Field;
        switch (parent.k) {
          case K.Header:
            headerValues[f.name] = v;
            return;
          case K.Body:
            body = (v ?? {}) as Record<string, unknown>;
            return;
          case K.Complex:
            if (parent.items) {
              parent.items.push(v);
            } else {
              const out = parent.out as Record<string, unknown>;
              if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(v);
              else out[f.name] = v;
            }
            return;
          case K.Any:
            (parent.items as unknown[]).push(v);
            return;
          default:
            return;
        }
      }

      try {
        parser.write(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml).close();
      } catch (e) {
        if (e instanceof Stop) {
          return {
            op: op as OperationInfo, headers: headersOf(headersDiscarded ? {} : headerValues), body: body ?? {},
            error: (headersDiscarded ? null : headerError) ?? e.inputError,
          };
        }
        throw e;
      }
      if (!op) throw new SoapProtocolError(500, 'Client', 'The SOAP Body is empty.');
      return { op, headers: headersOf(headersDiscarded ? {} : headerValues), body: body ?? {}, error: firstError() };
    },
  };
}

function frame(k: K, f: Field | null, path: string, depth: number): Frame {
  return { k, f, path, nil: false, attrs: false, text: '', out: null, items: null, children: 0, depth, xsiType: null };
}

function unexpected(local: string, path: string): SoapInputError {
  const field = joinPath(path, local);
  return new SoapInputError(field, `Unexpected element ${show(local)} in ${path || 'the body'}: the contract does not allow it here.`);
}
