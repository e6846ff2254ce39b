import type { Version } from './model.js';

export const XS = 'http://www.w3.org/2001/XMLSchema';
export const SER = 'http://schemas.microsoft.com/2003/10/Serialization/';
export const ARRAYS = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';
export const DSA = 'http://schemas.datacontract.org/2004/07/System.Security.Cryptography';
export const WSDL = 'http://schemas.xmlsoap.org/wsdl/';
export const WSDL_SOAP = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const WSAW = 'http://www.w3.org/2006/05/addressing/wsdl';
export const SOAP_HTTP = 'http://schemas.xmlsoap.org/soap/http';
export const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** The service namespace; also the prefix of every SOAPAction. */
export function tnsFor(version: Version): string {
  return `http://www.superoffice.net/ws/crm/NetServer/Services${version}`;
}

/** The fixed prefixes the model's type references use (see TypeRef in model.ts). */
export type Prefix = 'xs' | 'tns' | 'arr' | 'ser' | 'dsa';

export function namespaceOf(prefix: Prefix, version: Version): string {
  switch (prefix) {
    case 'xs': return XS;
    case 'tns': return tnsFor(version);
    case 'arr': return ARRAYS;
    case 'ser': return SER;
    case 'dsa': return DSA;
  }
}
