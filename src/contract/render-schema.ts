// One <xs:schema> of wsdl:types, rendered from a SchemaPlan.
import type { ComplexTypeDef, ElementDef, EnumTypeDef, RestrictionTypeDef, TopElementDef, TypeDef, TypeRef, Version } from './model.js';
import { namespaceOf, SER, XS } from './namespaces.js';
import type { SchemaPlan } from './schema-plan.js';
import { splitRef } from './type-registry.js';
import { SERIALIZATION_ATTRIBUTES, SERIALIZATION_PRIMITIVES, SERIALIZATION_TYPES } from './types-serialization.js';
import { el, type XmlNode } from './xml-node.js';

/** Renders type references: own namespace as tns:, foreign ones through WCF's numbered q1, q2... */
class RefWriter {
  private next = 1;
  constructor(private readonly plan: SchemaPlan, private readonly version: Version) {}

  /** Attributes for an element of `type`: its xmlns:qN declaration (if foreign) and the QName. */
  typeAttrs(ref: TypeRef): { xmlns?: [string, string]; type: string } {
    const { prefix, name } = splitRef(ref);
    if (prefix === 'xs') return { type: `xs:${name}` };
    if (prefix === this.plan.prefix) return { type: `tns:${name}` };
    const q = `q${this.next++}`;
    return { xmlns: [`xmlns:${q}`, namespaceOf(prefix, this.version)], type: `${q}:${name}` };
  }
}

const appinfo = (...content: XmlNode[]): XmlNode => el('xs:annotation', {}, el('xs:appinfo', {}, content));

function element(def: ElementDef | TopElementDef, refs: RefWriter, top: boolean): XmlNode {
  const ref = def.type ? refs.typeAttrs(def.type) : undefined;
  const local = def as ElementDef;
  const attrs: Record<string, string | undefined> = {};
  if (ref?.xmlns) attrs[ref.xmlns[0]] = ref.xmlns[1];
  if (!top && !local.required) attrs.minOccurs = '0';
  attrs.maxOccurs = local.maxOccurs;
  attrs.name = def.name;
  attrs.nillable = def.nillable ? 'true' : undefined;
  attrs.type = ref?.type;
  return el('xs:element', attrs, def.inline && el('xs:complexType', {}, sequence(def.inline, refs)));
}

const sequence = (elements: readonly ElementDef[], refs: RefWriter): XmlNode =>
  el('xs:sequence', {}, elements.map((e) => element(e, refs, false)));

function complexType(def: ComplexTypeDef, refs: RefWriter): XmlNode {
  const flags: XmlNode[] = [];
  if (def.isDictionary) flags.push(el('IsDictionary', { xmlns: SER }, 'true'));
  if (def.isValueType) flags.push(el('IsValueType', { xmlns: SER }, 'true'));
  const seq = sequence(def.elements, refs);
  const body = def.base
    ? el('xs:complexContent', { mixed: 'false' }, el('xs:extension', { base: refs.typeAttrs(def.base).type }, seq))
    : seq;
  return el('xs:complexType', { name: def.name }, flags.length > 0 && appinfo(...flags), body);
}

function enumType(def: EnumTypeDef): XmlNode {
  const restriction = el('xs:restriction', { base: 'xs:string' }, def.values.map((v) =>
    el('xs:enumeration', { value: v.value },
      v.number !== undefined && appinfo(el('EnumerationValue', { xmlns: SER }, String(v.number))))));
  return el('xs:simpleType', { name: def.name },
    def.actualType && appinfo(el('ActualType', { xmlns: SER, Name: def.actualType, Namespace: XS })),
    def.kind === 'flags' ? el('xs:list', {}, el('xs:simpleType', {}, restriction)) : restriction);
}

const restrictionType = (def: RestrictionTypeDef): XmlNode =>
  el('xs:simpleType', { name: def.name },
    el('xs:restriction', { base: def.base }, def.facets.map((f) => el(`xs:${f.facet}`, { value: f.value }))));

function typeNode(def: TypeDef, refs: RefWriter): XmlNode {
  switch (def.kind) {
    case 'complex': return complexType(def, refs);
    case 'enum':
    case 'flags': return enumType(def);
    case 'restriction': return restrictionType(def);
  }
}

/** Every named type is followed by a nillable global element of the same name. */
const typeElement = (name: string): XmlNode =>
  el('xs:element', { name, nillable: 'true', type: `tns:${name}` });

function serializationContent(): XmlNode[] {
  return [
    ...SERIALIZATION_PRIMITIVES.map((p) => el('xs:element', { name: p, nillable: 'true', type: `xs:${p}` })),
    ...SERIALIZATION_TYPES.flatMap((t) => [typeElement(t.name), restrictionType(t)]),
    ...SERIALIZATION_ATTRIBUTES.map((a) => el('xs:attribute', { name: a.name, type: a.type })),
  ];
}

export function renderSchema(plan: SchemaPlan, version: Version): XmlNode {
  const refs = new RefWriter(plan, version);
  const isMain = plan.prefix === 'tns';
  const content = plan.prefix === 'ser'
    ? serializationContent()
    : plan.components.flatMap((c) => c.kind === 'element'
      ? [element(c.def, refs, true)]
      : [typeNode(c.def, refs), typeElement(c.def.name)]);
  return el('xs:schema', {
    'xmlns:xs': XS,
    // The service schema uses the tns prefix declared on wsdl:definitions.
    'xmlns:tns': isMain ? undefined : plan.ns,
    attributeFormDefault: plan.prefix === 'ser' ? 'qualified' : undefined,
    elementFormDefault: 'qualified',
    targetNamespace: plan.ns,
  }, plan.imports.map((ns) => el('xs:import', { namespace: ns })), content);
}
