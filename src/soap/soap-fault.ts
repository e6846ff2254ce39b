/**
 * SOAP 1.1 envelopes and faults. Faults are for protocol errors only (wrong media type, malformed XML, unknown
 * SOAPAction, ...); business and input errors travel as Succeeded=false + ExceptionInfo in a normal response.
 * A fault never carries a stack trace or an internal error message.
 */
import { escapeXmlText } from './xml-escape.js';

export const SOAP11_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope';

/** SOAP 1.1 fault codes (section 4.4.1), written with the envelope's `s:` prefix. */
export type SoapFaultCode = 'Client' | 'Server' | 'VersionMismatch' | 'MustUnderstand';

/** A request that is not a usable SOAP 1.1 message; answered with a fault and `status`. */
export class SoapProtocolError extends Error {
  readonly status: number;
  readonly faultCode: SoapFaultCode;

  constructor(status: number, faultCode: SoapFaultCode, message: string) {
    super(message);
    this.name = 'SoapProtocolError';
    this.status = status;
    this.faultCode = faultCode;
  }
}

/** `<s:Envelope>` with optional header content (already serialized) and body content. No XML declaration, as WCF. */
export function soapEnvelope(headerXml: string, bodyXml: string): string {
  return `<s:Envelope xmlns:s="${SOAP11_ENV_NS}">`
    + (headerXml ? `<s:Header>${headerXml}</s:Header>` : '')
    + `<s:Body>${bodyXml}</s:Body></s:Envelope>`;
}

export function soapFaultEnvelope(code: SoapFaultCode, message: string): string {
  return soapEnvelope('',
    `<s:Fault><faultcode>s:${code}</faultcode><faultstring xml:lang="en-US">${escapeXmlText(message)}</faultstring></s:Fault>`);
}
