/**
 * A small, resolved view of the WSDL's inline XML schemas, built once from node-soap's parsed WSDL tree.
 *
 * node-soap keeps the schemas as a raw element tree and re-walks it on every call (that walk is most of its
 * serializer's cost). Here every named type is resolved once into a plain descriptor: fields in xs:sequence order
 * with the base type's fields first for extensions, the namespace each element is qualified with, nillable,
 * minOccurs, repetition, and the value kind. Both the compiled serializer and the request normaliser work only
 * from these descriptors. Descriptors may be cyclic (SoExceptionInfo.InnerException, MDOListItem.ChildItems).
 *
 * Only what document/literal WCF contracts use is modelled: sequence/all/choice (flattened), complexContent
 * extension/restriction, simpleContent (as its base scalar), simpleType restriction/enumeration/list, element
 * refs, xs:anyType. Attributes are ignored.
 */

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const ARRAYS_NS = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';

export type ScalarKind = 'string' | 'boolean' | 'integer' | 'number' | 'dateTime' | 'date' | 'base64';

export interface ScalarType {
  readonly kind: 'scalar';
  /** Local name of the XSD built-in the value is written as (int, string, dateTime...). */
  readonly xsdName: string;
  readonly scalar: ScalarKind;
  /** Inclusive bounds for integer kinds (clamped to the safe-integer range). */
  readonly min: number;
  readonly max: number;
}

export interface EnumType {
  readonly kind: 'enum';
  readonly name: string;
  readonly values: ReadonlySet<string>;
  /** The first enumeration value: what .NET has for a member that is absent (value 0). */
  readonly first: string;
}

/** xs:list, used by WCF for [Flags] enums: space-separated names, empty for no flags. */
export interface ListType {
  readonly kind: 'list';
  readonly name: string;
  /** Allowed item names, or null when the item type is not an enumeration. */
  readonly values: ReadonlySet<string> | null;
}

export interface AnyType {
  readonly kind: 'any';
}

export interface ComplexType {
  readonly kind: 'complex';
  /** Type name, or null for an anonymous inline type. */
  readonly name: string | null;
  readonly ns: string;
  readonly fields: readonly Field[];
  /**
   * Set when the type is a WCF collection contract: a sequence of exactly one repeated element (ArrayOfstring,
   * ArrayOfWebhook, StringDictionary...). Dictionaries are collections of anonymous {Key, Value} pairs.
   */
  readonly collection: Collection | null;
}

export interface Collection {
  readonly item: Field;
  readonly dictionary: boolean;
}

export type TypeDesc = ScalarType | EnumType | ListType | AnyType | ComplexType;

export interface Field {
  readonly name: string;
  /** Namespace the element is qualified with ('' when unqualified). */
  readonly ns: string;
  readonly nillable: boolean;
  readonly minOccurs: number;
  readonly repeated: boolean;
  readonly type: TypeDesc;
}

export interface SchemaModel {
  /** The WSDL's targetNamespace (the default namespace of everything we write). */
  readonly targetNamespace: string;
  /** A top-level xs:element; ns defaults to the WSDL targetNamespace. */
  element(name: string, ns?: string): Field | undefined;
  /** Every top-level element of every schema (resolving them all is how start-up fails fast). */
  allElements(): Field[];
  /** A named complex or simple type, looked up by local name in every schema (first match). */
  typeNamed(name: string): TypeDesc | undefined;
  /** Resolve a QName written in the WSDL's root scope (message parts). */
  resolveQName(qname: string): { ns: string; name: string };
}

// ---- the subset of node-soap's parsed tree that we read ----

export interface XsdNode {
  name: string;
  children?: XsdNode[];
  xmlns?: Record<string, string>;
  [attr: `$${string}`]: string | undefined;
}

interface XsdSchema {
  $targetNamespace?: string;
  $elementFormDefault?: string;
  xmlns?: Record<string, string>;
  complexTypes?: Record<string, XsdNode>;
  types?: Record<string, XsdNode>;
  elements?: Record<string, XsdNode>;
}

export interface SoapDefinitions {
  $targetNamespace?: string;
  xmlns?: Record<string, string>;
  schemas: Record<string, XsdSchema>;
}

type Scope = Record<string, string>;

const SAFE_MIN = Number.MIN_SAFE_INTEGER;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function scalar(xsdName: string, kind: ScalarKind, min = SAFE_MIN, max = SAFE_MAX): ScalarType {
  return Object.freeze({ kind: 'scalar' as const, xsdName, scalar: kind, min, max });
}

const STRING_LIKE = [
  'string', 'normalizedString', 'token', 'language', 'Name', 'NCName', 'NMTOKEN', 'NMTOKENS', 'ID', 'IDREF',
  'IDREFS', 'ENTITY', 'ENTITIES', 'anyURI', 'QName', 'NOTATION', 'duration', 'time', 'gYear', 'gYearMonth',
  'gMonth', 'gMonthDay', 'gDay', 'hexBinary', 'anySimpleType',
];

const BUILTINS: ReadonlyMap<string, ScalarType | AnyType> = new Map<string, ScalarType | AnyType>([
  ...STRING_LIKE.map((n) => [n, scalar(n, 'string')] as const),
  ['boolean', scalar('boolean', 'boolean')],
  ['byte', scalar('byte', 'integer', -128, 127)],
  ['short', scalar('short', 'integer', -32768, 32767)],
  ['int', scalar('int', 'integer', -2147483648, 2147483647)],
  ['long', scalar('long', 'integer')],
  ['integer', scalar('integer', 'integer')],
  ['unsignedByte', scalar('unsignedByte', 'integer', 0, 255)],
  ['unsignedShort', scalar('unsignedShort', 'integer', 0, 65535)],
  ['unsignedInt', scalar('unsignedInt', 'integer', 0, 4294967295)],
  ['unsignedLong', scalar('unsignedLong', 'integer', 0)],
  ['nonNegativeInteger', scalar('nonNegativeInteger', 'integer', 0)],
  ['positiveInteger', scalar('positiveInteger', 'integer', 1)],
  ['nonPositiveInteger', scalar('nonPositiveInteger', 'integer', SAFE_MIN, 0)],
  ['negativeInteger', scalar('negativeInteger', 'integer', SAFE_MIN, -1)],
  ['double', scalar('double', 'number')],
  ['float', scalar('float', 'number')],
  ['decimal', scalar('decimal', 'number')],
  ['dateTime', scalar('dateTime', 'dateTime')],
  ['date', scalar('date', 'date')],
  ['base64Binary', scalar('base64Binary', 'base64')],
  ['anyType', Object.freeze({ kind: 'any' as const })],
]);

/** The XSD built-in with this local name (used for incoming xsi:type values too). */
export function builtinType(localName: string): ScalarType | AnyType | undefined {
  return BUILTINS.get(localName);
}

function childScope(scope: Scope, node: XsdNode): Scope {
  const x = node.xmlns;
  if (!x) return scope;
  let has = false;
  for (const _ in x) { has = true; break; }
  return has ? { ...scope, ...x } : scope;
}

function splitQName(qname: string): { prefix: string; local: string } {
  const i = qname.indexOf(':');
  return i < 0 ? { prefix: '', local: qname } : { prefix: qname.slice(0, i), local: qname.slice(i + 1) };
}

const kids = (n: XsdNode): XsdNode[] => n.children ?? [];

/** Build the model from node-soap's `wsdl.definitions`. */
export function buildSchemaModel(definitions: SoapDefinitions): SchemaModel {
  const rootScope: Scope = { ...(definitions.xmlns ?? {}) };
  const targetNamespace = definitions.$targetNamespace ?? rootScope.tns ?? '';
  const schemas = definitions.schemas ?? {};
  const typeCache = new Map<string, TypeDesc>();
  const elementCache = new Map<string, Field>();

  const schemaScope = (ns: string): Scope => ({ ...rootScope, ...(schemas[ns]?.xmlns ?? {}) });

  function resolve(qname: string, scope: Scope, schemaNs: string): { ns: string; name: string } {
    const { prefix, local } = splitQName(qname);
    if (prefix) {
      const ns = scope[prefix];
      if (ns === undefined) throw new Error(`WSDL schema: undeclared prefix in "${qname}"`);
      return { ns, name: local };
    }
    // Unprefixed: the schema's own namespace if it defines the name, else an XSD built-in.
    const s = schemas[schemaNs];
    if (s && (s.complexTypes?.[local] || s.types?.[local] || s.elements?.[local])) return { ns: schemaNs, name: local };
    return { ns: XSD_NS, name: local };
  }

  function namedType(ns: string, name: string): TypeDesc {
    const key = `${ns}|${name}`;
    const cached = typeCache.get(key);
    if (cached) return cached;
    if (ns === XSD_NS) {
      const b = BUILTINS.get(name);
      if (!b) throw new Error(`WSDL schema: unsupported XSD built-in type xs:${name}`);
      return b;
    }
    const schema = schemas[ns];
    const complex = schema?.complexTypes?.[name];
    if (complex) return complexType(complex, name, ns, childScope(schemaScope(ns), complex), key);
    const simple = schema?.types?.[name];
    if (simple) {
      const t = simpleType(simple, name, ns, childScope(schemaScope(ns), simple));
      typeCache.set(key, t);
      return t;
    }
    throw new Error(`WSDL schema: unresolved type {${ns}}${name}`);
  }

  function simpleType(node: XsdNode, name: string, schemaNs: string, scope: Scope): TypeDesc {
    for (const c of kids(node)) {
      const s = childScope(scope, c);
      if (c.name === 'restriction') {
        const enums = kids(c).filter((e) => e.name === 'enumeration').map((e) => String(e.$value ?? ''));
        if (enums.length > 0) {
          return Object.freeze({ kind: 'enum' as const, name, values: new Set(enums), first: enums[0] });
        }
        if (c.$base) return namedTypeFromQName(c.$base, s, schemaNs);
        const inner = kids(c).find((k) => k.name === 'simpleType');
        if (inner) return simpleType(inner, name, schemaNs, childScope(s, inner));
      } else if (c.name === 'list') {
        let item: TypeDesc | undefined;
        if (c.$itemType) item = namedTypeFromQName(c.$itemType, s, schemaNs);
        const inner = kids(c).find((k) => k.name === 'simpleType');
        if (inner) item = simpleType(inner, name, schemaNs, childScope(s, inner));
        return Object.freeze({ kind: 'list' as const, name, values: item?.kind === 'enum' ? item.values : null });
      } else if (c.name === 'union') {
        return BUILTINS.get('string') as ScalarType;
      }
    }
    return BUILTINS.get('string') as ScalarType;
  }

  function namedTypeFromQName(qname: string, scope: Scope, schemaNs: string): TypeDesc {
    const { ns, name } = resolve(qname, scope, schemaNs);
    return namedType(ns, name);
  }

  function complexType(node: XsdNode, name: string | null, schemaNs: string, scope: Scope, key?: string): TypeDesc {
    const fields: Field[] = [];
    const desc = { kind: 'complex' as const, name, ns: schemaNs, fields, collection: null as Collection | null };
    // Registered before the fields are resolved so that recursive types resolve to this same object.
    if (key) typeCache.set(key, desc);
    let simpleBase: TypeDesc | undefined;
    for (const c of kids(node)) {
      const s = childScope(scope, c);
      if (c.name === 'complexContent') {
        for (const d of kids(c)) {
          const ds = childScope(s, d);
          if (d.name === 'extension' && d.$base) {
            const base = namedTypeFromQName(d.$base, ds, schemaNs);
            if (base.kind === 'complex') fields.push(...base.fields);
            collectParticles(kids(d), ds, schemaNs, fields, false);
          } else if (d.name === 'restriction') {
            collectParticles(kids(d), ds, schemaNs, fields, false);
          }
        }
      } else if (c.name === 'simpleContent') {
        const d = kids(c).find((k) => k.name === 'extension' || k.name === 'restriction');
        if (d?.$base) simpleBase = namedTypeFromQName(d.$base, childScope(s, d), schemaNs);
      } else {
        collectParticles([c], scope, schemaNs, fields, false);
      }
    }
    if (simpleBase && fields.length === 0) {
      if (key) typeCache.set(key, simpleBase);
      return simpleBase; // a simpleContent type is written as its base scalar (its attributes are not modelled)
    }
    if (fields.length === 1 && fields[0].repeated) {
      const item = fields[0];
      const t = item.type;
      const dictionary =
        t.kind === 'complex' && t.fields.length === 2 && t.fields[0].name === 'Key' && t.fields[1].name === 'Value';
      desc.collection = { item, dictionary };
    }
    return Object.freeze(desc);
  }

  function collectParticles(nodes: XsdNode[], scope: Scope, schemaNs: string, out: Field[], optional: boolean): void {
    for (const n of nodes) {
      const s = childScope(scope, n);
      switch (n.name) {
        case 'sequence':
        case 'all':
          collectParticles(kids(n), s, schemaNs, out, optional || n.$minOccurs === '0');
          break;
        case 'choice':
          collectParticles(kids(n), s, schemaNs, out, true);
          break;
        case 'element': {
          const f = localElement(n, s, schemaNs);
          out.push(optional && f.minOccurs > 0 ? { ...f, minOccurs: 0 } : f);
          break;
        }
        default:
          // annotation, attribute, anyAttribute, any: nothing to write or read
          break;
      }
    }
  }

  function occurs(n: XsdNode): { minOccurs: number; repeated: boolean } {
    const min = n.$minOccurs === undefined ? 1 : Number(n.$minOccurs);
    const max = n.$maxOccurs;
    return { minOccurs: min, repeated: max === 'unbounded' || (max !== undefined && Number(max) > 1) };
  }

  function elementType(n: XsdNode, scope: Scope, schemaNs: string): TypeDesc {
    if (n.$type) return namedTypeFromQName(n.$type, scope, schemaNs);
    for (const c of kids(n)) {
      if (c.name === 'complexType') return complexType(c, null, schemaNs, childScope(scope, c));
      if (c.name === 'simpleType') return simpleType(c, n.$name ?? '', schemaNs, childScope(scope, c));
    }
    return BUILTINS.get('anyType') as AnyType;
  }

  function localElement(n: XsdNode, scope: Scope, schemaNs: string): Field {
    const occ = occurs(n);
    if (n.$ref) {
      const { ns, name } = resolve(n.$ref, scope, schemaNs);
      const target = topElement(name, ns);
      if (!target) throw new Error(`WSDL schema: unresolved element ref ${n.$ref}`);
      return { ...target, ...occ };
    }
    const schema = schemas[schemaNs];
    const form = n.$form ?? schema?.$elementFormDefault;
    return {
      name: String(n.$name),
      ns: form === 'qualified' ? schemaNs : '',
      nillable: n.$nillable === 'true',
      ...occ,
      type: elementType(n, scope, schemaNs),
    };
  }

  function topElement(name: string, ns: string): Field | undefined {
    const key = `${ns}|${name}`;
    const cached = elementCache.get(key);
    if (cached) return cached;
    const node = schemas[ns]?.elements?.[name];
    if (!node) return undefined;
    const scope = childScope(schemaScope(ns), node);
    // Placeholder first: an element whose type refers back to it must not recurse forever.
    const field: { -readonly [K in keyof Field]: Field[K] } = {
      name, ns, nillable: node.$nillable === 'true', minOccurs: 1, repeated: false,
      type: BUILTINS.get('anyType') as AnyType,
    };
    elementCache.set(key, field);
    field.type = elementType(node, scope, ns);
    return Object.freeze(field);
  }

  return {
    targetNamespace,
    element: (name, ns = targetNamespace) => topElement(name, ns),
    allElements() {
      const out: Field[] = [];
      for (const [ns, s] of Object.entries(schemas)) {
        for (const name of Object.keys(s.elements ?? {})) {
          const f = topElement(name, ns);
          if (f) out.push(f);
        }
      }
      return out;
    },
    typeNamed(name) {
      for (const [ns, s] of Object.entries(schemas)) {
        if (s.complexTypes?.[name] || s.types?.[name]) return namedType(ns, name);
      }
      return undefined;
    },
    resolveQName(qname) {
      const { prefix, local } = splitQName(qname);
      const ns = prefix ? rootScope[prefix] : targetNamespace;
      if (ns === undefined) throw new Error(`WSDL: undeclared prefix in "${qname}"`);
      return { ns, name: local };
    },
  };
}
