/**
 * The comparison behind the request reader's differential tests (request-reader-differential.test.ts and the
 * real-client captures in test/clients): the reader and node-soap's parse (node-soap-oracle.ts) must give the same
 * operation, headers and body, or the same class of error.
 *
 * Where they may differ, each for a stated reason (anything else fails):
 * - EARLY: the reader stopped at an element the contract does not allow and never saw a later protocol problem
 *   the oracle reports (the reader refuses such elements before reading on; that is the point).
 * - NAMESPACES: the reader is namespace-aware, so an undeclared prefix is malformed XML; node-soap does not check.
 * - HREF: the reader refuses multi-reference `href` values (SOAP encoding, never sent by document/literal clients);
 *   node-soap resolves them.
 * - WHITESPACE: sax (under node-soap) does not normalise line ends (CR LF, CR -> LF) as XML requires; node-soap
 *   reads a whitespace-only string on an element with attributes as '', and an empty or whitespace-only one in a
 *   header (it has no schema for headers) as null; the reader keeps what was sent.
 * - XSI: node-soap takes any `p:type` attribute for xsi:type, whatever namespace p names; the reader only takes
 *   the one in the XML Schema instance namespace (a request that does not bind it has no xsi:type).
 * - CRASH: node-soap fails on its own (a TypeError inside xmlToObject: a Header with text and elements, say) where
 *   the reader found the operation's body element and read the request.
 * - BODIES: node-soap takes the children of any element named Body (one inside a header, say) for the SOAP Body's;
 *   the reader knows where the Body is.
 * - PROTO: node-soap fails on an element named like an Object.prototype member (`<valueOf>`) anywhere; the reader
 *   skips it in a header and refuses it in the body as any unknown element.
 * - FOREIGN: the reader takes Body and Header only in the SOAP 1.1 envelope namespace and the body element only in
 *   its operation's (as WCF does); node-soap goes by local names.
 * - DROPPED: node-soap silently drops an element that is followed by text inside a simple value
 *   (`<Ticket><x/>abc</Ticket>` reads as "abc"); the reader refuses the element.
 */
import assert from 'node:assert/strict';
import { SaxesParser } from 'saxes';
import { loadWsdlContract, type OperationInfo, type WsdlContract } from '../../src/soap/wsdl-contract.js';
import { createRequestReader, type ReadRequest, type RequestReader } from '../../src/soap/request-reader.js';
import { compileSerializer, type CompiledSerializer } from '../../src/soap/compiled-serializer.js';
import { SoapInputError } from '../../src/soap/soap-input-error.js';
import { SoapProtocolError } from '../../src/soap/soap-fault.js';
import { createOracle } from './node-soap-oracle.js';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

export interface Endpoint {
  contract: WsdlContract;
  reader: RequestReader;
  oracle: ReturnType<typeof createOracle>;
  serializer: CompiledSerializer;
}

export async function differentialEndpoint(wsdlXml: string): Promise<Endpoint> {
  const contract = await loadWsdlContract(wsdlXml);
  // The oracle configures node-soap's parser options on its own contract instance.
  const oracle = createOracle(await loadWsdlContract(wsdlXml));
  return { contract, reader: createRequestReader(contract), oracle, serializer: compileSerializer(contract.model) };
}

type Outcome =
  | { kind: 'ok'; op: string; headers: Record<string, unknown>; body: Record<string, unknown> }
  | { kind: 'input'; field: string; message: string }
  | { kind: 'protocol'; fault: string; message: string };

export function outcome(fn: () => ReadRequest): Outcome {
  try {
    const r = fn();
    if (r.error) return { kind: 'input', field: r.error.field, message: r.error.message };
    return { kind: 'ok', op: r.op.name, headers: r.headers.values, body: r.body };
  } catch (err) {
    if (err instanceof SoapProtocolError) return { kind: 'protocol', fault: err.faultCode, message: err.message };
    if (err instanceof SoapInputError) return { kind: 'input', field: err.field, message: err.message };
    throw err;
  }
}

export function byBody(contract: WsdlContract): (name: string) => OperationInfo {
  return (name) => {
    for (const o of contract.operations.values()) if (o.input.name === name) return o;
    throw new SoapProtocolError(500, 'Client', `Unexpected body element '${name}'.`);
  };
}

/** Namespace well-formedness as the reader sees it, checked with saxes alone. */
function namespaceWellFormed(xml: string): boolean {
  try {
    const p = new SaxesParser({ xmlns: true, position: false });
    p.on('error', (e) => {
      throw e;
    });
    p.write(xml.replace(/^\uFEFF/, '')).close();
    return true;
  } catch {
    return false;
  }
}

/** XML's end-of-line handling, which sax (under node-soap) leaves out: CR LF and CR read as LF. */
function lineEnds(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\r\n?/g, '\n');
  if (Array.isArray(v)) return v.map(lineEnds);
  if (v instanceof Date || v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, lineEnds(x)]));
}

/**
 * node-soap's readings of empty and whitespace-only text (see WHITESPACE above), applied to both sides: such a
 * string reads as '' (null in a header).
 */
function blankAsNodeSoapReads(v: unknown, inHeader: boolean): unknown {
  if (typeof v === 'string' && v.trim() === '') return inHeader ? null : '';
  if (Array.isArray(v)) return v.map((x) => blankAsNodeSoapReads(x, inHeader));
  if (v instanceof Date || v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, blankAsNodeSoapReads(x, inHeader)]));
}

export const stats = { same: 0, foreign: 0, xsi: 0, crash: 0, early: 0, dropped: 0, bodies: 0, proto: 0, namespaces: 0, href: 0, whitespace: 0 };

/** Feeds one request to both and asserts they agree (or differ only as allowed, counted in `stats`). */
export function differential(ep: Endpoint, xml: string, action: string | null, label: string): void {
  const byAction = action ? ep.contract.operations.get(action) ?? null : null;
  const pick = byBody(ep.contract);
  const mine = outcome(() => ep.reader.read(xml, byAction, pick));
  const theirs = outcome(() => ep.oracle.read(xml, byAction, pick));
  const why = `${label}\n--- request:\n${xml.slice(0, 3000)}\n--- reader: ${JSON.stringify(mine).slice(0, 800)}\n--- oracle: ${JSON.stringify(theirs).slice(0, 800)}`;
  if (mine.kind === 'protocol' && theirs.kind !== 'protocol' && /must be in the (SOAP 1\.1 envelope )?namespace/.test(mine.message)) {
    stats.foreign++;
    return;
  }
  if (mine.kind === 'protocol' && theirs.kind !== 'protocol' && /href/.test(mine.message)) {
    stats.href++;
    return;
  }
  if (mine.kind === 'protocol' && theirs.kind !== 'protocol' && /well-formed/.test(mine.message) && !namespaceWellFormed(xml)) {
    stats.namespaces++;
    return;
  }
  if (theirs.kind === 'protocol' && mine.kind !== 'protocol' && theirs.message.startsWith('node-soap failed')) {
    stats.crash++;
    return;
  }
  if (theirs.kind === 'protocol' && mine.kind !== 'protocol' && (xml.match(/<([\w.-]+:)?Body[\s/>]/g) ?? []).length > 1) {
    stats.bodies++;
    return;
  }
  if (theirs.kind === 'protocol' && mine.kind !== 'protocol'
    && [...xml.matchAll(/<(?:[\w.-]+:)?([\w.-]+)/g)].some((m) => m[1] in Object.prototype)) {
    stats.proto++;
    return;
  }
  // An element inside an untyped anyType value is refused at that element too (request-reader.ts, K.Any).
  const structural = /does not allow|appears more than once|found (element|text)|nests|with elements needs an xsi:type/;
  if (mine.kind === 'input' && theirs.kind === 'protocol' && structural.test(mine.message)) {
    stats.early++;
    return;
  }
  if (mine.kind === 'input' && theirs.kind === 'ok' && /found element/.test(mine.message)) {
    stats.dropped++;
    return;
  }
  assert.equal(mine.kind, theirs.kind, why);
  // Both protocol faults: the same class (the fault code may differ when a request is wrong in two ways, since
  // node-soap looked at the root element before parsing and the reader reads in document order).
  if (mine.kind === 'ok' && theirs.kind === 'ok') {
    assert.equal(mine.op, theirs.op, why);
    try {
      assert.deepEqual({ h: mine.headers, b: mine.body }, { h: theirs.headers, b: theirs.body });
      stats.same++;
    } catch {
      if (!xml.includes(`"${XSI}"`)) {
        stats.xsi++;
        return;
      }
      const blank = (h: unknown, b: unknown) => ({ h: blankAsNodeSoapReads(h, true), b: blankAsNodeSoapReads(b, false) });
      assert.deepEqual(blank(mine.headers, mine.body), blank(lineEnds(theirs.headers), lineEnds(theirs.body)), why);
      stats.whitespace++;
    }
    return;
  }
  stats.same++;
}

