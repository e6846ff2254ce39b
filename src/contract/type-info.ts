// The resolved, version-specific view of the model a serializer compiles from: namespaces
// resolved to URIs, base-type members flattened in front, anonymous types given names.
import type { ComplexTypeDef, ElementDef, TopElementDef, TypeRef, Version } from './model.js';
import { namespaceOf } from './namespaces.js';
import type { ContractPlan, SchemaPlan } from './schema-plan.js';
import { splitRef } from './type-registry.js';

export interface QName {
  readonly ns: string;
  readonly name: string;
}

/** `{namespace}local`, the key of Contract.types. */
export const clark = (q: QName): string => `{${q.ns}}${q.name}`;

export interface ElementInfo {
  readonly name: string;
  /** The namespace the element is qualified in (its declaring schema: elementFormDefault="qualified"). */
  readonly ns: string;
  /** A built-in when ns is XML Schema's; otherwise a key of Contract.types (via clark). */
  readonly type: QName;
  readonly minOccurs: 0 | 1;
  readonly maxOccurs: 1 | 'unbounded';
  readonly nillable: boolean;
}

export interface ComplexTypeInfo {
  readonly kind: 'complex';
  readonly qname: QName;
  /**
   * True for inline complexTypes (dictionary pairs, operation wrappers). Their name is not an
   * XML name: "#Owner/Element" (pair types) or "#Element" (global elements).
   */
  readonly anonymous: boolean;
  readonly base?: QName;
  readonly isDictionary: boolean;
  /** Base-type elements first, then this type's own, in sequence order. */
  readonly elements: readonly ElementInfo[];
  /**
   * Set for collections (ArrayOfX) and dictionaries: the one repeated element. Their wire value
   * is a JS array of item values (see wire-types.ts).
   */
  readonly item?: ElementInfo;
}

export interface EnumTypeInfo {
  /** `flags` values are xs:list: space-separated names, the empty list meaning 0. */
  readonly kind: 'enum' | 'flags';
  readonly qname: QName;
  readonly values: readonly string[];
}

export type TypeInfo = ComplexTypeInfo | EnumTypeInfo;

function resolveRef(ref: TypeRef, version: Version): QName {
  const { prefix, name } = splitRef(ref);
  return { ns: namespaceOf(prefix, version), name };
}

/** Builds the type map and the global-element map of one contract. */
export function buildTypeInfo(plan: ContractPlan): {
  types: Map<string, TypeInfo>;
  elements: Map<string, ElementInfo>;
} {
  const { version } = plan;
  const types = new Map<string, TypeInfo>();
  const named = new Map<string, { def: ComplexTypeDef; schema: SchemaPlan }>();
  for (const schema of plan.schemas) {
    for (const c of schema.components) {
      if (c.kind === 'type' && c.def.kind === 'complex') {
        named.set(clark({ ns: schema.ns, name: c.def.name }), { def: c.def, schema });
      }
    }
  }

  // `path` names the enclosing component, so that anonymous types get unique names.
  const elementInfo = (el: ElementDef | TopElementDef, schema: SchemaPlan, path: string | null): ElementInfo => {
    let type: QName;
    if (el.inline) {
      type = { ns: schema.ns, name: path === null ? `#${el.name}` : `#${path}/${el.name}` };
      addComplex(type, { kind: 'complex', name: type.name, elements: el.inline }, schema, true);
    } else {
      type = resolveRef(el.type!, version);
    }
    const local = el as ElementDef;
    return {
      name: el.name,
      ns: schema.ns,
      type,
      minOccurs: path === null || local.required ? 1 : 0,
      maxOccurs: local.maxOccurs ?? 1,
      nillable: el.nillable === true,
    };
  };

  function addComplex(qname: QName, def: ComplexTypeDef, schema: SchemaPlan, anonymous: boolean): ComplexTypeInfo {
    const key = clark(qname);
    const done = types.get(key);
    if (done) return done as ComplexTypeInfo;
    const base = def.base ? resolveRef(def.base, version) : undefined;
    let inherited: readonly ElementInfo[] = [];
    if (base) {
      const entry = named.get(clark(base));
      if (!entry) throw new Error(`contract model: unresolved base ${clark(base)}`);
      inherited = addComplex(base, entry.def, entry.schema, false).elements;
    }
    const path = qname.name.replace(/^#/, '');
    const elements = [...inherited, ...def.elements.map((e) => elementInfo(e, schema, path))];
    const item = elements.length === 1 && elements[0].maxOccurs === 'unbounded' ? elements[0] : undefined;
    const info: ComplexTypeInfo = {
      kind: 'complex', qname, anonymous, base, isDictionary: def.isDictionary === true, elements, item,
    };
    types.set(key, info);
    return info;
  }

  const elements = new Map<string, ElementInfo>();
  for (const schema of plan.schemas) {
    for (const c of schema.components) {
      if (c.kind === 'element') {
        elements.set(c.def.name, elementInfo(c.def, schema, null));
        continue;
      }
      const qname = { ns: schema.ns, name: c.def.name };
      if (c.def.kind === 'complex') addComplex(qname, c.def, schema, false);
      else if (c.def.kind !== 'restriction') {
        types.set(clark(qname), { kind: c.def.kind, qname, values: c.def.values.map((v) => v.value) });
      }
    }
  }
  return { types, elements };
}
