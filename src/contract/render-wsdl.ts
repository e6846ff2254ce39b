// The WSDL 1.1 document of one (service, version), rendered from the model.
import type { ServiceName, Version } from './model.js';
import { SOAP_HTTP, WSAW, WSDL, WSDL_SOAP } from './namespaces.js';
import { renderSchema } from './render-schema.js';
import { planContract, type ContractPlan } from './schema-plan.js';
import { el, escapeAttr, serializeDocument, type XmlNode } from './xml-node.js';

/** The address the rendered WSDL carries; the server swaps it for the request's own URL. */
export function placeholderAddress(service: ServiceName, version: Version): string {
  return `http://localhost/Remote/Services${version}/${service}.svc`;
}

/** Replaces the single soap:address location of a rendered WSDL. */
export function setWsdlAddress(wsdlXml: string, location: string): string {
  return wsdlXml.replace(/(<soap:address location=")[^"]*("\/>)/, (_m, a: string, b: string) => a + escapeAttr(location) + b);
}

/** SOAPAction of an operation's input; the output's wsaw:Action appends "Response". */
export function soapActionFor(tns: string, portType: string, operation: string): string {
  return `${tns}/${portType}/${operation}`;
}

// Declared as NetServer declares them, although most are unused, so clients that key on
// prefixes see the same document.
function rootNamespaces(tns: string): Record<string, string> {
  return {
    'xmlns:wsdl': WSDL,
    'xmlns:wsap': 'http://schemas.xmlsoap.org/ws/2004/08/addressing/policy',
    'xmlns:wsa10': 'http://www.w3.org/2005/08/addressing',
    'xmlns:tns': tns,
    'xmlns:msc': 'http://schemas.microsoft.com/ws/2005/12/wsdl/contract',
    'xmlns:soapenc': 'http://schemas.xmlsoap.org/soap/encoding/',
    'xmlns:wsx': 'http://schemas.xmlsoap.org/ws/2004/09/mex',
    'xmlns:soap': WSDL_SOAP,
    'xmlns:wsam': 'http://www.w3.org/2007/05/addressing/metadata',
    'xmlns:wsa': 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
    'xmlns:wsp': 'http://schemas.xmlsoap.org/ws/2004/09/policy',
    'xmlns:wsaw': WSAW,
    'xmlns:soap12': 'http://schemas.xmlsoap.org/wsdl/soap12/',
    'xmlns:wsu': 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
    'xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
  };
}

function messages(plan: ContractPlan): XmlNode[] {
  const { service } = plan;
  const out = new Map<string, XmlNode>();
  const add = (name: string, parts: Array<[string, string]>): void => {
    if (out.has(name)) return; // AuthenticateResponse is shared by four operations
    out.set(name, el('wsdl:message', { name },
      parts.map(([part, element]) => el('wsdl:part', { name: part, element: `tns:${element}` }))));
  };
  const headerParts = (names: readonly string[]): Array<[string, string]> => names.map((n) => [n, n]);
  for (const op of service.operations) {
    add(`${op.name}Request`, [['parameters', op.input]]);
    add(`${op.name}Request_Headers`, headerParts(service.requestHeaders));
    add(op.output, [['parameters', op.output]]);
    add(`${op.output}_Headers`, headerParts(service.responseHeaders));
  }
  return [...out.values()];
}

function portType(plan: ContractPlan): XmlNode {
  const { service, tns } = plan;
  return el('wsdl:portType', { name: service.portType }, service.operations.map((op) => {
    const action = soapActionFor(tns, service.portType, op.name);
    return el('wsdl:operation', { name: op.name },
      el('wsdl:input', { 'wsaw:Action': action, name: `${op.name}Request`, message: `tns:${op.name}Request` }),
      el('wsdl:output', { 'wsaw:Action': `${action}Response`, name: op.output, message: `tns:${op.output}` }));
  }));
}

function binding(plan: ContractPlan): XmlNode {
  const { service, tns } = plan;
  const io = (tag: string, name: string, headers: readonly string[]): XmlNode =>
    el(tag, { name },
      headers.map((part) => el('soap:header', { message: `tns:${name}_Headers`, part, use: 'literal' })),
      el('soap:body', { use: 'literal' }));
  return el('wsdl:binding', { name: service.binding, type: `tns:${service.portType}` },
    el('soap:binding', { transport: SOAP_HTTP }),
    service.operations.map((op) => el('wsdl:operation', { name: op.name },
      el('soap:operation', { soapAction: soapActionFor(tns, service.portType, op.name), style: 'document' }),
      io('wsdl:input', `${op.name}Request`, service.requestHeaders),
      io('wsdl:output', op.output, service.responseHeaders))));
}

export function renderWsdl(service: ServiceName, version: Version): string {
  const plan = planContract(service, version);
  const def = plan.service;
  const root = el('wsdl:definitions', { ...rootNamespaces(plan.tns), name: def.wsdlName, targetNamespace: plan.tns },
    el('wsdl:types', {}, plan.schemas.map((s) => renderSchema(s, version))),
    messages(plan),
    portType(plan),
    binding(plan),
    el('wsdl:service', { name: def.wsdlName },
      el('wsdl:port', { name: def.binding, binding: `tns:${def.binding}` },
        el('soap:address', { location: placeholderAddress(service, version) }))));
  return serializeDocument(root);
}
