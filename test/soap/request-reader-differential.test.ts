/**
 * Differential test of the request reader (src/soap/request-reader.ts) against its oracle, node-soap's parse
 * (node-soap-oracle.ts): every fixture, the reference envelopes, the reliability suite's request builder for every
 * operation, fast-check-generated valid requests (the compiled serializer writing arbitrary wire values) and
 * hostile ones (the fuzz suite's seeded mutator, and generated insertions). Both must give the same operation,
 * headers and body, or the same class of error (a protocol fault, or an input error).
 *
 * Where they may differ, each for a stated reason (anything else fails):
 * - EARLY: the reader stopped at an element the contract does not allow and never saw a later protocol problem
 *   the oracle reports (the reader refuses such elements before reading on; that is the point).
 * - NAMESPACES: the reader is namespace-aware, so an undeclared prefix is malformed XML; node-soap does not check.
 * - HREF: the reader refuses multi-reference `href` values (SOAP encoding, never sent by document/literal clients);
 *   node-soap resolves them.
 * - WHITESPACE: sax (under node-soap) does not normalise line ends (CR LF, CR -> LF) as XML requires; node-soap reads a whitespace-only string on an element with attributes as '', and an empty or
 *   whitespace-only one in a header (it has no schema for headers) as null; the reader keeps what was sent.
 * - XSI: node-soap takes any `p:type` attribute for xsi:type, whatever namespace p names; the reader only takes
 *   the one in the XML Schema instance namespace (a request that does not bind it has no xsi:type).
 * - CRASH: node-soap fails on its own (a TypeError inside xmlToObject: a Header with text and elements, say) where
 *   the reader found the operation's body element and read the request.
 * - BODIES: node-soap takes the children of any element named Body (one inside a header, say) for the SOAP Body's;
 *   the reader knows where the Body is.
 * - PROTO: node-soap fails on an element named like an Object.prototype member (`<valueOf>`) anywhere; the reader
 *   skips it in a header and refuses it in the body as any unknown element.
 * - DROPPED: node-soap silently drops an element that is followed by text inside a simple value
 *   (`<Ticket><x/>abc</Ticket>` reads as "abc"); the reader refuses the element.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { loadWsdlContract, type OperationInfo, type WsdlContract } from '../../src/soap/wsdl-contract.js';
import { createRequestReader, type ReadRequest, type RequestReader } from '../../src/soap/request-reader.js';
import { compileSerializer, type CompiledSerializer } from '../../src/soap/compiled-serializer.js';
import { SoapInputError } from '../../src/soap/soap-input-error.js';
import { SoapProtocolError } from '../../src/soap/soap-fault.js';
import { contractFor } from '../../src/contract/index.js';
import { createOracle } from './node-soap-oracle.js';
import { ARRAYS, repoRoot, SOAP11, TNS, XSI } from './support.js';
import { allOperations, buildRequest, referenceDir, requestTree, type Operation, type RequestInput } from '../reliability/support/envelopes.js';
import { Mutator, prng } from '../reliability/support/mutate.js';

type Outcome =
  | { kind: 'ok'; op: string; headers: Record<string, unknown>; body: Record<string, unknown> }
  | { kind: 'input'; field: string; message: string }
  | { kind: 'protocol'; fault: string; message: string };

interface Endpoint {
  contract: WsdlContract;
  reader: RequestReader;
  oracle: ReturnType<typeof createOracle>;
  serializer: CompiledSerializer;
}

const endpoints = new Map<string, Endpoint>();

before(async () => {
  for (const [name, xml] of [
    ['Webhook85', contractFor('Webhook', 85).wsdlXml], ['Webhook86', contractFor('Webhook', 86).wsdlXml],
    ['Webhook87', contractFor('Webhook', 87).wsdlXml], ['Webhook88', contractFor('Webhook', 88).wsdlXml],
    ['SoPrincipal88', contractFor('SoPrincipal', 88).wsdlXml],
  ] as const) {
    const contract = await loadWsdlContract(xml);
    // The oracle configures node-soap's parser options on its own contract instance.
    const oracle = createOracle(await loadWsdlContract(xml));
    endpoints.set(name, { contract, reader: createRequestReader(contract), oracle, serializer: compileSerializer(contract.model) });
  }
});

function outcome(fn: () => ReadRequest): Outcome {
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

function byBody(contract: WsdlContract): (name: string) => OperationInfo {
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

const stats = { same: 0, xsi: 0, crash: 0, early: 0, dropped: 0, bodies: 0, proto: 0, namespaces: 0, href: 0, whitespace: 0 };

/** Feeds one request to both; returns which allowed divergence applied, if any. */
function differential(ep: Endpoint, xml: string, action: string | null, label: string): void {
  const byAction = action ? ep.contract.operations.get(action) ?? null : null;
  const pick = byBody(ep.contract);
  const mine = outcome(() => ep.reader.read(xml, byAction, pick));
  const theirs = outcome(() => ep.oracle.read(xml, byAction, pick));
  const why = `${label}\n--- request:\n${xml.slice(0, 3000)}\n--- reader: ${JSON.stringify(mine).slice(0, 800)}\n--- oracle: ${JSON.stringify(theirs).slice(0, 800)}`;
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
  const structural = /does not allow|appears more than once|found (element|text)|nests/;
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

const endpointOf = (op: Operation): Endpoint => endpoints.get(op === 'AuthenticateUsernamePassword' ? 'SoPrincipal88' : 'Webhook88')!;

const inputs = (op: Operation): RequestInput => {
  switch (op) {
    case 'AuthenticateUsernamePassword': return { op, userName: 'admin', password: 'pw' };
    case 'CreateDefaultWebhook': return { op };
    case 'SaveWebhook':
    case 'TestWebhook':
      return { op, webhook: { name: 'n', events: ['a.b', 'c'], targetUrl: 'https://x.example/h', secret: 's', headers: { 'X-A': '1' },
        properties: { i: { type: 'int', value: '5' }, d: { type: 'double', value: 'INF' }, t: { type: 'dateTime', value: '2024-01-01T00:00:00' } } } };
    case 'DeleteWebhook':
    case 'GetWebhook':
    case 'GetLastError':
      return { op, webhookId: 7 };
    case 'GetAllWebhooks': return { op, nameFilter: 'x', eventFilter: 'e', statusFilter: 'Active' };
    case 'SignalEvent': return { op, eventName: 'contact.created', primaryKey: 3, data: { a: { type: 'string', value: ' x ' }, b: { type: 'boolean', value: 'true' } } };
  }
};

describe('request reader agrees with node-soap (the oracle)', () => {
  test('fixtures and client captures in test/soap/fixtures', () => {
    const dir = path.join(repoRoot, 'test/soap/fixtures');
    const files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const xml = readFileSync(path.join(dir, f), 'utf8');
      const op = /-(\w+)\.xml$/.exec(f)![1];
      const ep = endpoints.get('Webhook88')!;
      differential(ep, xml, op, f);
      differential(ep, xml, null, f);
      assert.equal(outcome(() => ep.reader.read(xml, null, byBody(ep.contract))).kind, 'ok', f);
    }
  });

  const noReference = existsSync(referenceDir) ? undefined : `reference envelopes not found at ${referenceDir}`;
  if (noReference && process.env.CI === 'true') throw new Error(noReference);
  test('the reference envelopes (NetServer documentation)', { skip: noReference }, () => {
    for (const f of readdirSync(referenceDir).filter((x) => x.endsWith('.request.xml'))) {
      const op = f.replace('.request.xml', '') as Operation;
      const xml = readFileSync(path.join(referenceDir, f), 'utf8');
      differential(endpointOf(op), xml, op, f);
    }
  });

  test('every operation as the reliability suite builds it, with and without a ticket', () => {
    for (const op of allOperations) {
      for (const ticket of ['7T:abc', null]) {
        const r = buildRequest(inputs(op), ticket);
        differential(endpointOf(op), r.xml, op, `${op} ticket=${ticket}`);
        differential(endpointOf(op), r.xml, null, `${op} ticket=${ticket} no action`);
        assert.equal(outcome(() => endpointOf(op).reader.read(r.xml, null, byBody(endpointOf(op).contract))).kind, 'ok', op);
      }
    }
  });

  test('valid requests: the serializer writes arbitrary wire values for every version', () => {
    const text = fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\uFFFE\uFFFF]/g, ''));
    const anyValue = fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null),
      fc.date({ min: new Date(Date.UTC(1, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), fc.array(text, { maxLength: 3 }));
    const webhook = fc.record({
      WebhookId: fc.integer({ min: -2147483648, max: 2147483647 }),
      Name: fc.option(text), Events: fc.option(fc.array(text, { maxLength: 4 })), TargetUrl: text,
      Secret: fc.option(text), State: fc.constantFrom('Unknown', 'Active', 'Stopped', 'TooManyErrors'), Type: text,
      Headers: fc.option(fc.array(fc.record({ Key: text, Value: fc.option(text) }), { maxLength: 3 })),
      Properties: fc.option(fc.array(fc.record({ Key: text, Value: anyValue }), { maxLength: 3 })),
    }, { requiredKeys: ['WebhookId'] });
    const versions = ['Webhook85', 'Webhook86', 'Webhook87', 'Webhook88'] as const;
    fc.assert(fc.property(fc.constantFrom(...versions), webhook, fc.option(text), (v, hook, ticket) => {
      const ep = endpoints.get(v)!;
      const header = ticket === null ? '' : `<s:Header>${ep.serializer.writeElement('Credentials', { Ticket: ticket })}</s:Header>`;
      const xml = `<s:Envelope xmlns:s="${SOAP11}">${header}<s:Body>${ep.serializer.writeElement('SaveWebhook', { Webhook: hook })}</s:Body></s:Envelope>`;
      differential(ep, xml, 'SaveWebhook', v);
      const data = (hook.Properties ?? []).map((p) => ({ Key: p.Key, Value: p.Value }));
      const signal = `<s:Envelope xmlns:s="${SOAP11}">${header}<s:Body>${ep.serializer.writeElement('SignalEvent', { EventName: hook.Name ?? 'e', PrimaryKey: hook.WebhookId, Data: data })}</s:Body></s:Envelope>`;
      differential(ep, signal, 'SignalEvent', v);
    }), { numRuns: 400 });
  });

  test('hostile requests: the fuzz suite\'s mutator, 1000 per operation', () => {
    for (const op of allOperations) {
      for (let i = 0; i < 1000; i++) {
        const m = new Mutator(prng((0x5eed ^ Math.imul(allOperations.indexOf(op) + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0));
        const xml = m.request(requestTree(inputs(op), '7T:abc'), new Set());
        const action = m.chance(0.8) ? op : null;
        differential(endpointOf(op), xml, action, `${op} mutation ${i}`);
      }
    }
  });

  test('hostile requests: generated insertions of unknown, repeated, nested and misplaced elements and text', () => {
    const name = fc.constantFrom('z', 'WebhookId', 'Name', 'Events', 'string', 'Key', 'Value', 'Webhook', 'Body', 'Ticket', 'ChildItems');
    const piece: fc.Arbitrary<string> = fc.letrec<{ p: string }>((tie) => ({
      p: fc.oneof({ depthSize: 'small' },
        fc.constantFrom('', 'text', ' ', '1', '&amp;', '<![CDATA[<x>]]>', '<!-- c -->', `<i:x xmlns:i="${XSI}" i:nil="true"/>`),
        fc.tuple(name, tie('p')).map(([n, inner]) => `<${n}>${inner}</${n}>`),
        fc.tuple(name, tie('p')).map(([n, inner]) => `<d:${n} xmlns:d="${ARRAYS}">${inner}</d:${n}>`)),
    })).p;
    const base = buildRequest(inputs('SaveWebhook'), '7T:abc').xml;
    const tags = [...base.matchAll(/<\/?[A-Za-z][^>]*>/g)].map((m) => m.index! + m[0].length);
    fc.assert(fc.property(fc.constantFrom(...tags), piece, fc.boolean(), (at, inserted, withAction) => {
      const xml = base.slice(0, at) + inserted + base.slice(at);
      differential(endpointOf('SaveWebhook'), xml, withAction ? 'SaveWebhook' : null, 'insertion');
    }), { numRuns: 1500 });
    const get = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetAllWebhooks xmlns="${TNS}"><NameFilter>`;
    differential(endpointOf('GetAllWebhooks'), `${get}${'<z/>'.repeat(1000)}</NameFilter></GetAllWebhooks></s:Body></s:Envelope>`, 'GetAllWebhooks', 'z flood');
  });

  test('the allowed divergences stay the exception', () => {
    console.log(`# differential: ${JSON.stringify(stats)}`);
    assert.ok(stats.same > 5 * (stats.xsi + stats.crash + stats.early + stats.dropped + stats.bodies + stats.proto + stats.namespaces + stats.href + stats.whitespace), JSON.stringify(stats));
  });
});
