// The wire contract of Webhook.svc (Services85..88) and SoPrincipal.svc (Services88):
// one declarative model; the WSDLs and the wire types derive from it (the typed view at run time is node-soap's
// load of the rendered WSDL: soap/schema-model.ts).
export type { ServiceName, Version, TypeRef, TypeDef, ComplexTypeDef, EnumTypeDef, ElementDef, TopElementDef,
  OperationDef, ServiceDef } from './model.js';
export { VERSIONS } from './model.js';
export { ARRAYS, DSA, SER, SOAP11_ENV, XS, XSI, tnsFor } from './namespaces.js';
export { renderWsdl, placeholderAddress, setWsdlAddress, soapActionFor } from './render-wsdl.js';
export { contractFor, type Contract } from './contract-for.js';
export { SERVICES } from './services.js';
export { lookupType, typeAt } from './type-registry.js';
export { PUBLISHED, wsdlFileName } from './published.js';
export type * from './wire-types.js';
