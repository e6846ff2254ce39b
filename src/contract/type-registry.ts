// Every type of the model, looked up by its prefixed reference.
import type { ElementDef, TypeDef, TypeRef, Version } from './model.js';
import type { Prefix } from './namespaces.js';
import { ARRAY_TYPES, COMMON_TYPES } from './types-common.js';
import { DSA_TYPES, PRINCIPAL_TYPES } from './types-principal.js';
import { SERIALIZATION_TYPES } from './types-serialization.js';
import { WEBHOOK_TYPES } from './types-webhook.js';

function byName(defs: readonly TypeDef[]): ReadonlyMap<string, TypeDef> {
  const map = new Map<string, TypeDef>();
  for (const def of defs) {
    if (map.has(def.name)) throw new Error(`contract model: type ${def.name} defined twice`);
    map.set(def.name, def);
  }
  return map;
}

const REGISTRY: Readonly<Record<Exclude<Prefix, 'xs'>, ReadonlyMap<string, TypeDef>>> = {
  tns: byName([...COMMON_TYPES, ...WEBHOOK_TYPES, ...PRINCIPAL_TYPES]),
  arr: byName(ARRAY_TYPES),
  dsa: byName(DSA_TYPES),
  ser: byName(SERIALIZATION_TYPES),
};

export function splitRef(ref: TypeRef): { prefix: Prefix; name: string } {
  const colon = ref.indexOf(':');
  return { prefix: ref.slice(0, colon) as Prefix, name: ref.slice(colon + 1) };
}

export function lookupType(ref: TypeRef): TypeDef {
  const { prefix, name } = splitRef(ref);
  const def = prefix === 'xs' ? undefined : REGISTRY[prefix].get(name);
  if (!def) throw new Error(`contract model: unknown type ${ref}`);
  return def;
}

const present = (version: Version) => (item: { since?: Version }) => item.since === undefined || item.since <= version;

export function elementsAt(elements: readonly ElementDef[], version: Version): ElementDef[] {
  return elements.filter(present(version)).map((e) => (e.inline ? { ...e, inline: elementsAt(e.inline, version) } : e));
}

/** The type as the given service version exposes it: later members and enum values dropped. */
export function typeAt(def: TypeDef, version: Version): TypeDef {
  switch (def.kind) {
    case 'complex': return { ...def, elements: elementsAt(def.elements, version) };
    case 'enum':
    case 'flags': return { ...def, values: def.values.filter(present(version)) };
    case 'restriction': return def;
  }
}
