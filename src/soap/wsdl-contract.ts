/**
 * Loads a WSDL (given as XML text) with node-soap and extracts what the edge needs: the schema model, and per
 * operation its SOAPAction, body wrapper elements and declared header elements, in WSDL order.
 * node-soap is used here only as a WSDL reader (its request parser survives in the tests, as the oracle of the
 * request reader). It is loaded on the first call, with the first SOAP endpoint compiled (soap-endpoint.ts), not at
 * start-up: node-soap and what it pulls in (xml-crypto, axios-ntlm, xmldom) took a fifth of the time to ready.
 */
import { createRequire } from 'node:module';
import type soapType from 'soap';
import { buildSchemaModel, type Field, type SchemaModel, type SoapDefinitions } from './schema-model.js';

export interface OperationInfo {
  readonly name: string;
  /** The binding's soapAction (exact). */
  readonly soapAction: string;
  readonly input: Field;
  readonly output: Field;
  /** Request header elements declared for the operation (soap:header), in WSDL order. */
  readonly requestHeaders: readonly Field[];
  /** Response header elements declared for the operation, in WSDL order (ExceptionInfo, ExtraInfo, ...). */
  readonly responseHeaders: readonly Field[];
}

export interface WsdlContract {
  readonly targetNamespace: string;
  readonly model: SchemaModel;
  readonly operations: ReadonlyMap<string, OperationInfo>;
  /** node-soap's WSDL object, for the test oracle (test/soap/node-soap-oracle.ts). Not for use elsewhere. */
  readonly soapWsdl: NodeSoapWsdl;
}

/** The part of node-soap's WSDL class that we touch. */
export interface NodeSoapWsdl {
  definitions: SoapDefinitions & {
    bindings: Record<string, NodeSoapBinding>;
    messages: Record<string, { children?: Array<{ $name?: string; $element?: string }> }>;
    services?: Record<string, { ports?: Record<string, { binding?: NodeSoapBinding }> }>;
  };
  options: Record<string, unknown>;
  xmlToObject(xml: string): unknown;
}

interface NodeSoapBinding {
  $name?: string;
  methods: Record<string, NodeSoapMethod>;
}

interface NodeSoapMethod {
  soapAction?: string;
  input?: { $name?: string; targetNamespace?: string };
  output?: { $name?: string; targetNamespace?: string };
  inputSoap?: { children?: Array<{ name?: string; $message?: string; $part?: string }> };
  outputSoap?: { children?: Array<{ name?: string; $message?: string; $part?: string }> };
}

function parseWsdl(xml: string, options: Record<string, unknown>): Promise<NodeSoapWsdl> {
  // require, not import(): node-soap is CommonJS with an __esModule flag, so what import() calls its default export
  // differs between Node and the tsx loader the tests run under.
  const soap = createRequire(import.meta.url)('soap') as typeof soapType;
  return new Promise((resolve, reject) => {
    let w: NodeSoapWsdl & { onReady(cb: (err?: unknown) => void): void };
    try {
      w = new soap.WSDL(xml, 'inline', options) as unknown as typeof w;
    } catch (err) {
      reject(err);
      return;
    }
    w.onReady((err) => (err ? reject(err) : resolve(w)));
  });
}

/**
 * Parse the WSDL once at start-up. The node-soap instance is private to the returned contract: parser options
 * set on it (by the test oracle) cannot leak into another endpoint's WSDL.
 */
export async function loadWsdlContract(wsdlXml: string, parserOptions: Record<string, unknown> = {}): Promise<WsdlContract> {
  const w = await parseWsdl(wsdlXml, { handleNilAsNull: true, ...parserOptions });
  const defs = w.definitions;
  const model = buildSchemaModel(defs);
  const binding = pickBinding(defs);

  const headerFields = (children: Array<{ name?: string; $message?: string; $part?: string }> | undefined): Field[] => {
    const out: Field[] = [];
    for (const h of children ?? []) {
      if (h.name !== 'header' || !h.$message || !h.$part) continue;
      const msg = defs.messages[model.resolveQName(h.$message).name];
      const part = msg?.children?.find((p) => p.$name === h.$part);
      if (!part?.$element) throw new Error(`WSDL: header part ${h.$message}/${h.$part} not found`);
      const q = model.resolveQName(part.$element);
      const f = model.element(q.name, q.ns);
      if (!f) throw new Error(`WSDL: header element ${part.$element} not found`);
      out.push(f);
    }
    return out;
  };

  const operations = new Map<string, OperationInfo>();
  for (const [name, m] of Object.entries(binding.methods)) {
    const inName = m.input?.$name;
    const outName = m.output?.$name;
    if (!inName || !outName) throw new Error(`WSDL: operation ${name} is not document/literal with element parts`);
    const input = model.element(inName, m.input?.targetNamespace ?? model.targetNamespace);
    const output = model.element(outName, m.output?.targetNamespace ?? model.targetNamespace);
    if (!input || !output) throw new Error(`WSDL: wrapper elements of ${name} not found`);
    operations.set(name, Object.freeze({
      name,
      soapAction: m.soapAction ?? '',
      input,
      output,
      requestHeaders: headerFields(m.inputSoap?.children),
      responseHeaders: headerFields(m.outputSoap?.children),
    }));
  }
  // Resolve every element now: an unsupported or broken schema fails at start-up, not on the first request.
  model.allElements();
  return { targetNamespace: model.targetNamespace, model, operations, soapWsdl: w };
}

function pickBinding(defs: NodeSoapWsdl['definitions']): NodeSoapBinding {
  // The binding behind the first service port; our WSDLs have exactly one (BasicHttpBinding_<Service>, SOAP 1.1).
  for (const svc of Object.values(defs.services ?? {})) {
    for (const port of Object.values(svc.ports ?? {})) {
      if (port.binding?.methods) return port.binding;
    }
  }
  const first = Object.values(defs.bindings)[0];
  if (!first) throw new Error('WSDL: no binding');
  return first;
}
