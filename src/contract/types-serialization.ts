// The schema of http://schemas.microsoft.com/2003/10/Serialization/ that WCF embeds in every
// WSDL (W85..W88, WP88): one nillable global element per primitive, three restricted types and
// the reference-tracking attributes. It is fixed, so it is listed in its WSDL order.
import type { RestrictionTypeDef } from './model.js';

export const SERIALIZATION_PRIMITIVES: readonly string[] = [
  'anyType', 'anyURI', 'base64Binary', 'boolean', 'byte', 'dateTime', 'decimal', 'double', 'float',
  'int', 'long', 'QName', 'short', 'string', 'unsignedByte', 'unsignedInt', 'unsignedLong', 'unsignedShort',
];

/** Each follows its own global element (`<xs:element name="char" type="tns:char"/>`). */
export const SERIALIZATION_TYPES: readonly RestrictionTypeDef[] = [
  { kind: 'restriction', name: 'char', base: 'xs:int', facets: [] },
  {
    kind: 'restriction',
    name: 'duration',
    base: 'xs:duration',
    facets: [
      { facet: 'pattern', value: String.raw`\-?P(\d*D)?(T(\d*H)?(\d*M)?(\d*(\.\d*)?S)?)?` },
      { facet: 'minInclusive', value: '-P10675199DT2H48M5.4775808S' },
      { facet: 'maxInclusive', value: 'P10675199DT2H48M5.4775807S' },
    ],
  },
  {
    kind: 'restriction',
    name: 'guid',
    base: 'xs:string',
    facets: [
      { facet: 'pattern', value: String.raw`[\da-fA-F]{8}-[\da-fA-F]{4}-[\da-fA-F]{4}-[\da-fA-F]{4}-[\da-fA-F]{12}` },
    ],
  },
];

export const SERIALIZATION_ATTRIBUTES: ReadonlyArray<{ name: string; type: `xs:${string}` }> = [
  { name: 'FactoryType', type: 'xs:QName' },
  { name: 'Id', type: 'xs:ID' },
  { name: 'Ref', type: 'xs:IDREF' },
];
