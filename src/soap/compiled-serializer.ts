/**
 * Response serializer in WCF DataContractSerializer form, compiled once per WSDL at start-up.
 *
 * Every top-level element (body wrappers such as GetWebhookResponse, header elements such as ExceptionInfo)
 * gets a closure that writes a self-contained fragment: the element qualified with the WSDL targetNamespace as
 * the default namespace, and on its start tag the few other prefixes its content can need, declared once:
 *   i = XMLSchema-instance (i:nil, i:type), a = .../2003/10/Serialization/Arrays (ArrayOfstring items),
 *   b = XMLSchema (xsi:type values of xs:anyType), c, d, ... = any other namespace reachable from the element.
 * Per request nothing looks at the schema again; the closures know the field order, tags and rules.
 *
 * Input convention (plain JS values keyed by WSDL element names):
 * - complex type: an object; fields are written in xs:sequence order, base type (Carrier) fields first;
 *   keys that are not fields are ignored.
 * - `undefined` (or a missing key): the element is omitted (all contract members are minOccurs=0; a required
 *   nillable element, such as a dictionary pair's Value, is written as nil instead).
 * - `null`: `i:nil="true"` when the element is nillable, otherwise omitted. Never nil on a value type.
 * - collection types (ArrayOfstring, ArrayOfWebhook, ArrayOfint, ...): a JS array of items, e.g.
 *   `Events: ['a', 'b']`, `Response: [webhook1, webhook2]`. `[]` gives an empty element (`<Events/>`), which
 *   clients tell apart from nil.
 * - dictionary types (StringDictionary, StringObjectDictionary, SoExceptionInfoParameters, ...): an array of
 *   `{Key, Value}` pairs (the canonical form, the same one request-reader.ts produces), or for convenience a
 *   plain object / Map whose entries become the pairs in insertion order.
 * - xs:dateTime: a Date, written as UTC wall-clock time without offset (see wcf-date-time.ts).
 * - xs:list enums ([Flags], e.g. NotifyVia): an array of names or a space-separated string; empty -> empty
 *   element. Enum and list values are checked against the WSDL's enumeration.
 * - xs:anyType (StringObjectDictionary values): always written with an xsi:type, because WCF clients cannot read
 *   an untyped value: string -> b:string, integer within int32 -> b:int, other integers and bigint -> b:long (b:decimal beyond its range),
 *   other numbers -> b:double, an ExactNumber (webhooks/exact-json.ts) -> b:decimal, boolean -> b:boolean, Date -> b:dateTime, string[] -> a:ArrayOfstring,
 *   any other array or a plain object (nested JSON) -> b:string holding its JSON text, null -> nil. Anything else is
 *   a programming error (TypeError).
 * - every string is escaped (no CDATA pass-through; XML-illegal characters dropped), nothing is pretty-printed.
 * A value of the wrong JS type throws a TypeError naming the field: it is a bug in the caller, not input.
 *
 * Versioning falls out of the WSDL: a field the WSDL does not declare (Services85 has no ErrorEmails) is never
 * written, whatever the object holds.
 */
import { isExactNumber, LONG_MAX, LONG_MIN, stringifyExact } from '../webhooks/exact-json.js';
import { escapeXmlText } from './xml-escape.js';
import { formatWcfDateTime } from './wcf-date-time.js';
import {
  ARRAYS_NS, XSD_NS, XSI_NS,
  type ComplexType, type EnumType, type Field, type ListType, type ScalarType, type SchemaModel, type TypeDesc,
} from './schema-model.js';

export type ElementWriter = (value: unknown) => string;

export interface CompiledSerializer {
  readonly targetNamespace: string;
  /** The compiled writer of a top-level element; throws if the WSDL has no such element. */
  elementWriter(name: string, ns?: string): ElementWriter;
  /** Shorthand for elementWriter(name)(value). */
  writeElement(name: string, value: unknown, ns?: string): string;
}

type Content = (v: unknown) => string;

const FIXED_PREFIXES: ReadonlyMap<string, string> = new Map([
  [XSI_NS, 'i'],
  [ARRAYS_NS, 'a'],
  [XSD_NS, 'b'],
]);
// 's' is the envelope's prefix; keep it free so a fragment never shadows it.
const SPARE_PREFIXES = 'cdefghjklmnopqrtuvwxyz'.split('');

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  return typeof v;
}

function fail(where: string, expected: string, v: unknown): never {
  throw new TypeError(`Cannot serialize ${where}: expected ${expected}, got ${describe(v)}`);
}

function formatDouble(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'INF' : '-INF';
}

function isPlainObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map);
}

export function compileSerializer(model: SchemaModel): CompiledSerializer {
  const tns = model.targetNamespace;
  const prefixes = new Map<string, string>(FIXED_PREFIXES);
  let spare = 0;
  const prefixOf = (ns: string): string => {
    let p = prefixes.get(ns);
    if (p === undefined) {
      p = SPARE_PREFIXES[spare++];
      if (p === undefined) throw new Error('WSDL uses too many namespaces');
      prefixes.set(ns, p);
    }
    return p;
  };
  const tagOf = (f: Field): string => {
    if (f.ns === tns) return f.name;
    if (f.ns === '') throw new Error(`Unqualified element ${f.name} is not supported`);
    return `${prefixOf(f.ns)}:${f.name}`;
  };

  const contentCache = new Map<ComplexType, Content>();

  function scalarText(t: ScalarType, where: string): Content {
    switch (t.scalar) {
      case 'string':
        return (v) => (typeof v === 'string' ? escapeXmlText(v) : fail(where, 'string', v));
      case 'boolean':
        return (v) => (v === true ? 'true' : v === false ? 'false' : fail(where, 'boolean', v));
      case 'integer': {
        const { min, max } = t;
        const bmin = BigInt(min === Number.MIN_SAFE_INTEGER && t.xsdName === 'long' ? '-9223372036854775808' : min);
        const bmax = BigInt(max === Number.MAX_SAFE_INTEGER && t.xsdName === 'long' ? '9223372036854775807' : max);
        return (v) => {
          if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return String(v);
          if (typeof v === 'bigint' && v >= bmin && v <= bmax) return String(v);
          return fail(where, `an integer in the xs:${t.xsdName} range`, v);
        };
      }
      case 'number':
        return (v) => (typeof v === 'number' ? formatDouble(v) : typeof v === 'bigint' ? String(v) : fail(where, 'number', v));
      case 'dateTime':
        return (v) => (v instanceof Date ? formatWcfDateTime(v) : fail(where, 'Date', v));
      case 'date':
        return (v) => (v instanceof Date ? formatWcfDateTime(v).slice(0, 10) : fail(where, 'Date', v));
      case 'base64':
        return (v) =>
          v instanceof Uint8Array ? Buffer.from(v).toString('base64')
            : typeof v === 'string' ? escapeXmlText(v) : fail(where, 'Uint8Array or base64 string', v);
    }
  }

  function enumText(t: EnumType, where: string): Content {
    const escaped = new Map([...t.values].map((x) => [x, escapeXmlText(x)]));
    return (v) => {
      const e = typeof v === 'string' ? escaped.get(v) : undefined;
      return e ?? fail(where, `one of ${[...t.values].join(', ')}`, v);
    };
  }

  function listText(t: ListType, where: string): Content {
    const allowed = t.values;
    const check = (name: string): string => {
      if (allowed && !allowed.has(name)) throw new TypeError(`Cannot serialize ${where}: "${name}" is not a ${t.name} value`);
      return name;
    };
    return (v) => {
      if (Array.isArray(v)) {
        let s = '';
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          if (typeof x !== 'string') fail(where, 'array of names', v);
          s += (i > 0 ? ' ' : '') + check(x);
        }
        return escapeXmlText(s);
      }
      if (typeof v === 'string') {
        const parts = v.split(/\s+/).filter((p) => p !== '');
        for (const p of parts) check(p);
        return escapeXmlText(parts.join(' '));
      }
      return fail(where, 'array of names or space-separated string', v);
    };
  }

  // xs:anyType: the xsi:type comes from the JS value, always present.
  function anyElement(tag: string, extra: string, where: string): Content {
    const nil = `<${tag} i:nil="true"${extra}/>`;
    const close = `</${tag}>`;
    const str = `<${tag} i:type="b:string"${extra}>`;
    const int = `<${tag} i:type="b:int"${extra}>`;
    const long = `<${tag} i:type="b:long"${extra}>`;
    const dbl = `<${tag} i:type="b:double"${extra}>`;
    const bool = `<${tag} i:type="b:boolean"${extra}>`;
    const dt = `<${tag} i:type="b:dateTime"${extra}>`;
    const dec = `<${tag} i:type="b:decimal"${extra}>`;
    const arr = `<${tag} i:type="a:ArrayOfstring"${extra}>`;
    const arrEmpty = `<${tag} i:type="a:ArrayOfstring"${extra}/>`;
    return (v) => {
      switch (typeof v) {
        case 'string':
          return str + escapeXmlText(v) + close;
        case 'number':
          if (Number.isInteger(v)) {
            if (v >= INT32_MIN && v <= INT32_MAX) return int + String(v) + close;
            // Beyond 2^53 a number is no exact integer any more (and 1e20 is no valid xs:long): write a double.
            if (Number.isSafeInteger(v)) return long + String(v) + close;
          }
          return dbl + formatDouble(v) + close;
        case 'bigint':
          return (v >= LONG_MIN && v <= LONG_MAX ? long : dec) + String(v) + close;
        case 'boolean':
          return bool + (v ? 'true' : 'false') + close;
        case 'undefined':
          return nil;
        case 'object': {
          if (v === null) return nil;
          if (v instanceof Date) return dt + formatWcfDateTime(v) + close;
          // An ExactNumber holds a decimal's text (an exponent only when read from stored JSON: then a double).
          if (isExactNumber(v)) return (/[eE]/.test(v.value) ? dbl : dec) + v.value + close;
          if (Array.isArray(v) && v.every((x) => x === null || x === undefined || typeof x === 'string')) {
            if (v.length === 0) return arrEmpty;
            let s = arr;
            for (const x of v) s += typeof x === 'string' ? `<a:string>${escapeXmlText(x)}</a:string>` : '<a:string i:nil="true"/>';
            return s + close;
          }
          // Any other array, and a JSON object (REST's nested Properties and Data values): the WSDL declares no type
          // for them (ArrayOfstring is the only array type), so they go out as their JSON text in an xs:string.
          if (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
            return str + escapeXmlText(stringifyExact(v)) + close;
          }
          return fail(where, 'string, number, bigint, ExactNumber, boolean, Date, a JSON array or object, or null', v);
        }
        default:
          return fail(where, 'string, number, bigint, boolean, Date, string[] or null', v);
      }
    };
  }

  /** Writer of one occurrence of an element with a non-null value; `extra` goes into the start tag. */
  function compileOne(type: TypeDesc, tag: string, extra: string, where: string): Content {
    const open = `<${tag}${extra}>`;
    const close = `</${tag}>`;
    switch (type.kind) {
      case 'scalar': {
        const text = scalarText(type, where);
        return (v) => open + text(v) + close;
      }
      case 'enum': {
        const text = enumText(type, where);
        return (v) => open + text(v) + close;
      }
      case 'list': {
        const text = listText(type, where);
        return (v) => open + text(v) + close;
      }
      case 'any':
        return anyElement(tag, extra, where);
      case 'complex': {
        const content = contentOf(type, where);
        const empty = `<${tag}${extra}/>`;
        return (v) => {
          const c = content(v);
          return c === '' ? empty : open + c + close;
        };
      }
    }
  }

  /** Writer of a field: handles absence, nil and repetition around compileOne. */
  function compileField(f: Field, owner: string): Content {
    const tag = tagOf(f);
    const where = `${owner}.${f.name}`;
    const nil = `<${tag} i:nil="true"/>`;
    const onNull = f.nillable ? nil : '';
    const onUndefined = f.nillable && f.minOccurs > 0 ? nil : '';
    const one = compileOne(f.type, tag, '', where);
    if (f.repeated) {
      return (v) => {
        if (v === undefined || v === null) return '';
        if (!Array.isArray(v)) return fail(where, 'array', v);
        let s = '';
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          s += x === undefined || x === null ? onNull : one(x);
        }
        return s;
      };
    }
    return (v) => (v === undefined ? onUndefined : v === null ? onNull : one(v));
  }

  function contentOf(type: ComplexType, where: string): Content {
    const cached = contentCache.get(type);
    if (cached) return cached;
    // Recursive types (InnerException, ChildItems) reach this type again while it is being compiled.
    const late: { impl?: Content } = {};
    contentCache.set(type, (v) => (late.impl as Content)(v));
    const impl = buildContent(type, type.name ?? where);
    late.impl = impl;
    contentCache.set(type, impl);
    return impl;
  }

  function buildContent(type: ComplexType, owner: string): Content {
    const coll = type.collection;
    if (coll && coll.dictionary) return dictionaryContent(coll.item, owner);
    if (coll) {
      const items = compileField(coll.item, owner);
      return (v) => (Array.isArray(v) ? items(v) : fail(owner, 'array', v));
    }
    const names = type.fields.map((f) => f.name);
    const writers = type.fields.map((f) => compileField(f, owner));
    const n = names.length;
    return (v) => {
      if (!isPlainObjectLike(v)) return fail(owner, 'object', v);
      let s = '';
      for (let i = 0; i < n; i++) s += writers[i](v[names[i]]);
      return s;
    };
  }

  function dictionaryContent(item: Field, owner: string): Content {
    const pairType = item.type as ComplexType;
    const itemTag = tagOf(item);
    const open = `<${itemTag}>`;
    const close = `</${itemTag}>`;
    const key = compileField(pairType.fields[0], `${owner}.${item.name}`);
    const value = compileField(pairType.fields[1], `${owner}.${item.name}`);
    const pair = (k: unknown, v: unknown): string => open + key(k) + value(v) + close;
    return (v) => {
      let s = '';
      if (Array.isArray(v)) {
        for (const p of v) {
          if (p === null || p === undefined) continue;
          if (typeof p !== 'object') fail(owner, 'array of {Key, Value} pairs', v);
          s += pair((p as { Key?: unknown }).Key, (p as { Value?: unknown }).Value);
        }
      } else if (v instanceof Map) {
        for (const [k, x] of v) s += pair(k, x);
      } else if (isPlainObjectLike(v)) {
        for (const k of Object.keys(v)) s += pair(k, v[k]);
      } else {
        fail(owner, 'array of {Key, Value} pairs, Map or object', v);
      }
      return s;
    };
  }

  // Namespaces a fragment can need, found once by walking the type graph from its element.
  function namespacesOf(root: Field): Set<string> {
    const out = new Set<string>();
    const seen = new Set<TypeDesc>();
    const visitField = (f: Field): void => {
      if (f.ns !== tns && f.ns !== '') out.add(f.ns);
      if (f.nillable) out.add(XSI_NS);
      visitType(f.type);
    };
    const visitType = (t: TypeDesc): void => {
      if (seen.has(t)) return;
      seen.add(t);
      if (t.kind === 'any') {
        out.add(XSI_NS);
        out.add(XSD_NS);
        out.add(ARRAYS_NS);
      } else if (t.kind === 'complex') {
        for (const f of t.fields) visitField(f);
      }
    };
    visitField(root);
    return out;
  }

  function compileTopLevel(f: Field): ElementWriter {
    const tag = tagOf(f);
    const nss = [...namespacesOf(f)].map((ns) => [prefixOf(ns), ns] as const).sort(([a], [b]) => a.localeCompare(b));
    const decls = ` xmlns="${tns}"` + nss.map(([p, ns]) => ` xmlns:${p}="${ns}"`).join('');
    const one = compileOne(f.type, tag, decls, f.name);
    const nil = `<${tag} i:nil="true"${decls}/>`;
    const empty = `<${tag}${decls}/>`;
    const onMissing = f.nillable ? nil : f.type.kind === 'complex' ? empty : '';
    return (v) => (v === undefined || v === null ? onMissing : one(v));
  }

  const writers = new Map<string, ElementWriter>();
  for (const f of model.allElements()) writers.set(`${f.ns}|${f.name}`, compileTopLevel(f));

  const elementWriter = (name: string, ns = tns): ElementWriter => {
    const w = writers.get(`${ns}|${name}`);
    if (!w) throw new Error(`WSDL has no element {${ns}}${name}`);
    return w;
  };
  return {
    targetNamespace: tns,
    elementWriter,
    writeElement: (name, value, ns) => elementWriter(name, ns)(value),
  };
}
