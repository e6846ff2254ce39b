// Which schema components one (service, version) exposes, in WSDL order.
//
// WCF exports what the operations reach, depth first: per operation the input wrapper, the
// request headers, the output wrapper, the response headers. A wrapper element comes before
// the types it reaches; a header element after its type; a named type before its base and
// member types, and each named type is followed by a global element of the same name. Walking
// the model the same way reproduces the reference WSDLs' order and their import lists, and
// leaves out types a version cannot reach (MDOListItem before 88).
import type { ElementDef, ServiceDef, ServiceName, TopElementDef, TypeDef, TypeRef, Version } from './model.js';
import { namespaceOf, type Prefix } from './namespaces.js';
import { SERVICES } from './services.js';
import { elementsAt, lookupType, splitRef, typeAt } from './type-registry.js';

export type Component =
  | { readonly kind: 'element'; readonly def: TopElementDef }
  | { readonly kind: 'type'; readonly def: TypeDef };

export interface SchemaPlan {
  readonly prefix: Exclude<Prefix, 'xs'>;
  readonly ns: string;
  /** Namespaces this schema references, in first-use order. */
  readonly imports: string[];
  /** Empty for the Serialization schema, whose fixed content types-serialization.ts lists. */
  readonly components: Component[];
}

export interface ContractPlan {
  readonly service: ServiceDef;
  readonly version: Version;
  readonly tns: string;
  /** The service schema, the Serialization schema, then the others in first-use order. */
  readonly schemas: readonly SchemaPlan[];
}

export function planContract(serviceName: ServiceName, version: Version): ContractPlan {
  const service = SERVICES[serviceName];
  if (!service.versions.includes(version)) {
    throw new Error(`${serviceName}.svc is not part of Services${version}`);
  }
  const schemas = new Map<Exclude<Prefix, 'xs'>, SchemaPlan>();
  const schema = (prefix: Exclude<Prefix, 'xs'>): SchemaPlan => {
    let plan = schemas.get(prefix);
    if (!plan) {
      plan = { prefix, ns: namespaceOf(prefix, version), imports: [], components: [] };
      schemas.set(prefix, plan);
    }
    return plan;
  };
  const main = schema('tns');
  const ser = schema('ser');
  const seen = new Set<string>();

  const noteUse = (from: SchemaPlan, prefix: Exclude<Prefix, 'xs'>): void => {
    const target = schema(prefix);
    if (target !== from && !from.imports.includes(target.ns)) from.imports.push(target.ns);
  };

  const visitElements = (elements: readonly ElementDef[], owner: SchemaPlan): void => {
    for (const el of elements) {
      if (el.type) visitType(el.type, owner);
      if (el.inline) visitElements(el.inline, owner);
    }
  };

  const visitType = (ref: TypeRef, from: SchemaPlan): void => {
    const { prefix } = splitRef(ref);
    if (prefix === 'xs') return;
    noteUse(from, prefix);
    if (prefix === 'ser' || seen.has(ref)) return;
    seen.add(ref);
    const def = typeAt(lookupType(ref), version);
    const owner = schema(prefix);
    owner.components.push({ kind: 'type', def });
    // Only these two annotations make WCF import the Serialization namespace;
    // ActualType and IsDictionary do not (compare W85 with W88).
    if (def.kind === 'complex') {
      if (def.isValueType) noteUse(owner, 'ser');
      if (def.base) visitType(def.base, owner);
      visitElements(def.elements, owner);
    } else if (def.kind !== 'restriction' && def.values.some((v) => v.number !== undefined)) {
      noteUse(owner, 'ser');
    }
  };

  const emitted = new Set<string>();
  const visitTop = (name: string): void => {
    if (emitted.has(name)) return;
    emitted.add(name);
    const def = service.elements.find((e) => e.name === name);
    if (!def) throw new Error(`contract model: ${service.name} has no element ${name}`);
    if (def.inline) {
      const inline = elementsAt(def.inline, version);
      main.components.push({ kind: 'element', def: { ...def, inline } });
      visitElements(inline, main);
    } else {
      if (def.type) visitType(def.type, main);
      main.components.push({ kind: 'element', def });
    }
  };

  for (const op of service.operations) {
    visitTop(op.input);
    service.requestHeaders.forEach(visitTop);
    visitTop(op.output);
    service.responseHeaders.forEach(visitTop);
  }
  const rest = [...schemas.values()].filter((s) => s !== main && s !== ser);
  return { service, version, tns: main.ns, schemas: [main, ser, ...rest] };
}
