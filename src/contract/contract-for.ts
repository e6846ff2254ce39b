// What the SOAP edge needs of one endpoint before node-soap loads it: the rendered WSDL and its operation names.
// The typed view of the contract (types, elements, per-operation headers and actions) is the one node-soap's
// loaded WSDL gives, soap/schema-model.ts and soap/wsdl-contract.ts: the serializer and the request reader are
// compiled from it, so there is one schema model at run time and in the tests.
import type { ServiceName, Version } from './model.js';
import { renderWsdl } from './render-wsdl.js';
import { planContract } from './schema-plan.js';

export interface Contract {
  readonly service: ServiceName;
  readonly version: Version;
  readonly tns: string;
  /** The rendered WSDL, with placeholderAddress() as its one soap:address location. */
  readonly wsdlXml: string;
  /** The operation names, in WSDL order. */
  readonly operations: readonly string[];
}

const cache = new Map<string, Contract>();

export function contractFor(service: ServiceName, version: Version): Contract {
  const key = `${service}/${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const plan = planContract(service, version);
  const contract: Contract = {
    service,
    version,
    tns: plan.tns,
    wsdlXml: renderWsdl(service, version),
    operations: plan.service.operations.map((op) => op.name),
  };
  cache.set(key, contract);
  return contract;
}
