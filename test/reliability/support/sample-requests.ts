/**
 * A full sample request per operation, generated from the project's own WSDL (src/contract, loaded with the same
 * schema model the service reads requests with), so that the reliability suites run on any clone: every member of
 * the operation's input in schema order, one item in each list and dictionary, an xsi:type on every element (as
 * gSOAP-style samples and Mono's WCF write them), ApplicationToken and Credentials headers. A type nested inside
 * itself (MDOListItem.ChildItems) is written two levels deep, then as a nil item. Values are neutral (empty strings,
 * 0, false, the first enumeration value); envelopes.ts fills in what each test needs.
 */
import { ARRAYS, XS, XSI, contractFor } from '../../../src/contract/index.js';
import { loadWsdlContract, type WsdlContract } from '../../../src/soap/wsdl-contract.js';
import type { Field } from '../../../src/soap/schema-model.js';
import { escapeText } from './xml-tree.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SAMPLE_DATE = '2026-07-02T01:24:15Z';
const SAMPLE_TICKET = '7T:sample-ticket==';
const SAMPLE_APPLICATION_TOKEN = 'sample-application-token';

type Service = 'Webhook' | 'SoPrincipal';
const loaded = new Map<Service, WsdlContract>();
for (const s of ['Webhook', 'SoPrincipal'] as const) loaded.set(s, await loadWsdlContract(contractFor(s, 88).wsdlXml));

/** The service's prefix for its own namespace, the one the suites' hand-written fragments use. */
function prefixes(service: Service, tns: string): Map<string, string> {
  return new Map([[tns, service], [ARRAYS, 'NetServerServices882']]);
}

function element(f: Field, p: Map<string, string>, pad: string, path: readonly string[]): string[] {
  const name = `${p.get(f.ns) ?? p.values().next().value}:${f.name}`;
  const t = f.type;
  switch (t.kind) {
    case 'scalar': {
      const value = t.scalar === 'integer' || t.scalar === 'number' ? '0' : t.scalar === 'boolean' ? 'false'
        : t.scalar === 'dateTime' ? SAMPLE_DATE : t.scalar === 'date' ? SAMPLE_DATE.slice(0, 10) : '';
      return [`${pad}<${name} xsi:type="xsd:${t.xsdName}">${value}</${name}>`];
    }
    case 'enum':
      return [`${pad}<${name} xsi:type="${p.get(f.ns)}:${t.name}">${escapeText(t.first)}</${name}>`];
    case 'list':
      return [`${pad}<${name} xsi:type="${p.get(f.ns)}:${t.name}">${t.values ? escapeText([...t.values][0]) : ''}</${name}>`];
    case 'any':
      return [`${pad}<${name} xsi:type="xsd:anyType"></${name}>`];
    case 'complex': {
      const typeName = t.name ?? f.name;
      if (path.filter((n) => n === typeName).length >= 2) return [`${pad}<${name} xsi:nil="true"></${name}>`];
      const typed = t.name ? ` xsi:type="${p.get(t.ns) ?? p.get(f.ns)}:${t.name}"` : '';
      const children = t.fields.flatMap((c) => element(c, p, `${pad} `, [...path, typeName]));
      return [`${pad}<${name}${typed}>`, ...children, `${pad}</${name}>`];
    }
  }
}

/** The sample request of `operation` on `service` (Services88), as XML text. */
export function sampleRequestXml(service: Service, operation: string): string {
  const contract = loaded.get(service)!;
  const op = contract.operations.get(operation);
  if (!op) throw new Error(`${service} has no operation ${operation}`);
  const p = prefixes(service, contract.targetNamespace);
  const own = p.get(contract.targetNamespace)!;
  const declared = [...p].map(([uri, prefix]) => ` xmlns:${prefix}="${uri}"`).join('');
  const credentials = service === 'Webhook'
    ? [`  <${own}:Credentials>`, `   <${own}:Ticket>${SAMPLE_TICKET}</${own}:Ticket>`, `  </${own}:Credentials>`] : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11}" xmlns:xsi="${XSI}" xmlns:xsd="${XS}"${declared}>`,
    ' <SOAP-ENV:Header>',
    `  <${own}:ApplicationToken>${SAMPLE_APPLICATION_TOKEN}</${own}:ApplicationToken>`,
    ...credentials,
    ' </SOAP-ENV:Header>',
    ' <SOAP-ENV:Body>',
    ...element(op.input, p, '  ', []),
    ' </SOAP-ENV:Body>',
    '</SOAP-ENV:Envelope>',
  ].join('\n');
}
