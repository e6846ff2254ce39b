// Types shared by Webhook.svc and SoPrincipal.svc (tns namespace), as in W85..W88 and WP88.
import type { ComplexTypeDef, EnumTypeDef, TypeDef, TypeRef } from './model.js';

/** A DataContract dictionary: a sequence of anonymous Key/Value pair elements. */
export function dictionary(name: string, pair: string, valueType: TypeRef): ComplexTypeDef {
  return {
    kind: 'complex',
    name,
    isDictionary: true,
    elements: [{
      name: pair,
      maxOccurs: 'unbounded',
      inline: [
        { name: 'Key', type: 'xs:string', required: true, nillable: true },
        { name: 'Value', type: valueType, required: true, nillable: true },
      ],
    }],
  };
}

/** A DataContract collection: ArrayOfX with repeated nillable <X> items. */
export function arrayOf(item: string, type: TypeRef = `tns:${item}`): ComplexTypeDef {
  return {
    kind: 'complex',
    name: `ArrayOf${item}`,
    elements: [{ name: item, type, maxOccurs: 'unbounded', nillable: true }],
  };
}

const eTableRight: EnumTypeDef = {
  kind: 'flags',
  name: 'ETableRight',
  values: [
    { value: 'Select' }, { value: 'Update' }, { value: 'Insert' }, { value: 'Delete' },
    { value: 'Filtering' }, { value: 'RestrictedUpdate' },
    { value: 'Unused1', since: 88 }, { value: 'Uninitialized', since: 88 },
    { value: 'R', number: 1, since: 88 }, { value: 'F', number: 16, since: 88 },
  ],
};

const eFieldRight: EnumTypeDef = {
  kind: 'flags',
  name: 'EFieldRight',
  values: [
    { value: 'Read' }, { value: 'Write' }, { value: 'Unused1' }, { value: 'Unused2' },
    { value: 'Unused3' }, { value: 'Unused4' }, { value: 'UIHintMandatory' },
    { value: 'UIHintReadOnly' }, { value: 'UndefinedValue256' },
    { value: 'Nullable', number: 32, since: 88 },
  ],
};

export const COMMON_TYPES: readonly TypeDef[] = [
  {
    kind: 'complex',
    name: 'Carrier',
    elements: [
      { name: 'TableRight', type: 'tns:TableRight', nillable: true },
      { name: 'FieldProperties', type: 'tns:FieldPropertyDictionary', nillable: true },
    ],
  },
  {
    kind: 'complex',
    name: 'TableRight',
    elements: [
      { name: 'Mask', type: 'tns:ETableRight' },
      { name: 'Reason', type: 'xs:string', nillable: true },
    ],
  },
  eTableRight,
  dictionary('FieldPropertyDictionary', 'FieldPropertyDictionaryKeyValuePair', 'tns:FieldProperty'),
  {
    kind: 'complex',
    name: 'FieldProperty',
    elements: [
      { name: 'FieldRight', type: 'tns:FieldRight', nillable: true },
      { name: 'FieldType', type: 'xs:string', nillable: true },
      { name: 'FieldLength', type: 'xs:int' },
    ],
  },
  {
    kind: 'complex',
    name: 'FieldRight',
    elements: [
      { name: 'Mask', type: 'tns:EFieldRight' },
      { name: 'Reason', type: 'xs:string', nillable: true },
    ],
  },
  eFieldRight,
  {
    kind: 'enum',
    name: 'UserType',
    values: [
      { value: 'Unknown' }, { value: 'InternalAssociate' }, { value: 'ResourceAssociate' },
      { value: 'ExternalAssociate' }, { value: 'AnonymousAssociate' }, { value: 'SystemAssociate' },
    ],
  },
  {
    kind: 'complex',
    name: 'SoExceptionInfo',
    elements: [
      { name: 'Message', type: 'xs:string', nillable: true },
      { name: 'StackTrace', type: 'xs:string', nillable: true },
      { name: 'FriendlyText', type: 'xs:string', nillable: true },
      { name: 'ExceptionType', type: 'xs:string', nillable: true },
      { name: 'Source', type: 'xs:string', nillable: true },
      { name: 'InnerException', type: 'tns:SoExceptionInfo', nillable: true },
      { name: 'Parameters', type: 'tns:SoExceptionInfoParameters', nillable: true },
    ],
  },
  dictionary('SoExceptionInfoParameters', 'SoExceptionInfoParametersKeyValuePair', 'xs:string'),
  dictionary('SoExtraInfo', 'ExtraInfoNameValuePair', 'xs:string'),
  {
    kind: 'complex',
    name: 'SoTimeZone',
    elements: [
      { name: 'SoTimeZoneId', type: 'xs:int' },
      { name: 'SoTimeZoneLocationCode', type: 'xs:string', nillable: true },
    ],
  },
  {
    kind: 'complex',
    name: 'SoCredentials',
    elements: [{ name: 'Ticket', type: 'xs:string', nillable: true }],
  },
];

/** Types of the Serialization/Arrays namespace. */
export const ARRAY_TYPES: readonly TypeDef[] = [
  arrayOf('string', 'xs:string'),
  // Value-type items are not nillable.
  { kind: 'complex', name: 'ArrayOfint', elements: [{ name: 'int', type: 'xs:int', maxOccurs: 'unbounded' }] },
];
