// What the SOAP edge needs of one endpoint, without parsing XML.
import type { ServiceName, Version } from './model.js';
import { renderWsdl, soapActionFor } from './render-wsdl.js';
import { planContract } from './schema-plan.js';
import { buildTypeInfo, type ElementInfo, type TypeInfo } from './type-info.js';

export interface OperationInfo {
  readonly name: string;
  /** SOAPAction header value and input wsaw:Action. */
  readonly soapAction: string;
  /** Output wsaw:Action (`${soapAction}Response`), the Action of a WS-Addressing reply. */
  readonly outputAction: string;
  /** Local names of the body wrapper elements, in the contract's tns. */
  readonly inputElement: string;
  readonly outputElement: string;
  /** Local names of the header elements (tns), in WSDL order. */
  readonly requestHeaders: readonly string[];
  /** ExceptionInfo, ExtraInfo, Succeeded, TimeZone. */
  readonly responseHeaders: readonly string[];
}

export interface Contract {
  readonly service: ServiceName;
  readonly version: Version;
  readonly tns: string;
  /** The rendered WSDL, with placeholderAddress() as its one soap:address location. */
  readonly wsdlXml: string;
  readonly operations: readonly OperationInfo[];
  /** The header and body wrapper elements of the service, by local name (all in tns). */
  readonly elements: ReadonlyMap<string, ElementInfo>;
  /** Every type the operations reach in this version, keyed by clark(qname). */
  readonly types: ReadonlyMap<string, TypeInfo>;
  /** A type by local name; names are unique within one contract. */
  typeNamed(name: string): TypeInfo | undefined;
}

const cache = new Map<string, Contract>();

export function contractFor(service: ServiceName, version: Version): Contract {
  const key = `${service}/${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const plan = planContract(service, version);
  const { types, elements } = buildTypeInfo(plan);
  const byName = new Map<string, TypeInfo>();
  for (const t of types.values()) {
    if (byName.has(t.qname.name)) throw new Error(`contract model: type name ${t.qname.name} is ambiguous`);
    byName.set(t.qname.name, t);
  }
  const def = plan.service;
  const contract: Contract = {
    service,
    version,
    tns: plan.tns,
    wsdlXml: renderWsdl(service, version),
    operations: def.operations.map((op) => {
      const soapAction = soapActionFor(plan.tns, def.portType, op.name);
      return {
        name: op.name,
        soapAction,
        outputAction: `${soapAction}Response`,
        inputElement: op.input,
        outputElement: op.output,
        requestHeaders: def.requestHeaders,
        responseHeaders: def.responseHeaders,
      };
    }),
    elements,
    types,
    typeNamed: (name) => byName.get(name),
  };
  cache.set(key, contract);
  return contract;
}
