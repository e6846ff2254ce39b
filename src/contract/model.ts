// The shape of the declarative contract model. The data lives in types-*.ts and services.ts;
// render-wsdl.ts and contract-for.ts only walk it.

export type Version = 85 | 86 | 87 | 88;
export const VERSIONS: readonly Version[] = [85, 86, 87, 88];
export type ServiceName = 'Webhook' | 'SoPrincipal';

/**
 * A type reference with one of the fixed prefixes of namespaces.ts:
 * xs (XML Schema), tns (ServicesNN, per version), arr (Serialization/Arrays),
 * ser (Serialization/), dsa (System.Security.Cryptography data contracts).
 */
export type TypeRef = `${'xs' | 'tns' | 'arr' | 'ser' | 'dsa'}:${string}`;

/**
 * One xs:element of a sequence. DataContract members are optional, so minOccurs is 0
 * unless `required` is set (dictionary Key/Value and IsValueType structs, where the
 * attribute is absent).
 */
export interface ElementDef {
  readonly name: string;
  /** Absent when `inline` gives an anonymous complexType. */
  readonly type?: TypeRef;
  /** Sequence of an anonymous complexType (dictionary pair types, operation wrappers). */
  readonly inline?: readonly ElementDef[];
  readonly required?: true;
  readonly maxOccurs?: 'unbounded';
  readonly nillable?: true;
  /** First service version that has this element; absent means every version. */
  readonly since?: Version;
}

export interface ComplexTypeDef {
  readonly kind: 'complex';
  readonly name: string;
  /** complexContent extension base; its elements precede ours on the wire. */
  readonly base?: TypeRef;
  /** DataContract annotations, written as xs:appinfo. */
  readonly isDictionary?: true;
  readonly isValueType?: true;
  readonly elements: readonly ElementDef[];
}

export interface EnumValueDef {
  readonly value: string;
  /** EnumerationValue annotation: WCF writes it when the numeric value is not the implied one. */
  readonly number?: number;
  readonly since?: Version;
}

/** Enumerations by name; `flags` ones are xs:list types (space-separated names). */
export interface EnumTypeDef {
  readonly kind: 'enum' | 'flags';
  readonly name: string;
  /** ActualType annotation: the underlying integer type when it is not int (xs namespace). */
  readonly actualType?: 'short';
  readonly values: readonly EnumValueDef[];
}

export interface Facet {
  readonly facet: 'pattern' | 'minInclusive' | 'maxInclusive';
  readonly value: string;
}

/** Restrictions of a built-in type (the Serialization schema's char, duration, guid). */
export interface RestrictionTypeDef {
  readonly kind: 'restriction';
  readonly name: string;
  readonly base: TypeRef;
  readonly facets: readonly Facet[];
}

export type SimpleTypeDef = EnumTypeDef | RestrictionTypeDef;
export type TypeDef = ComplexTypeDef | SimpleTypeDef;

/** A global element; `type` or `inline` (anonymous complexType) as for ElementDef. */
export interface TopElementDef {
  readonly name: string;
  readonly type?: TypeRef;
  readonly inline?: readonly ElementDef[];
  readonly nillable?: true;
}

export interface OperationDef {
  readonly name: string;
  /** Body wrapper elements (global elements of the service). */
  readonly input: string;
  readonly output: string;
}

export interface ServiceDef {
  readonly name: ServiceName;
  readonly versions: readonly Version[];
  /** wsdl:definitions/@name and wsdl:service/@name. */
  readonly wsdlName: string;
  readonly portType: string;
  readonly binding: string;
  /** Header parts, in WSDL order; the same for every operation of the service. */
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
  /** Global elements of the service: header elements and body wrappers. */
  readonly elements: readonly TopElementDef[];
  readonly operations: readonly OperationDef[];
}
