/**
 * Differential test of the request reader (src/soap/request-reader.ts) against its oracle, node-soap's parse
 * (node-soap-oracle.ts): every fixture, the reference envelopes (when ../shared is there), the reliability suite's request builder for every
 * operation, fast-check-generated valid requests (the compiled serializer writing arbitrary wire values) and
 * hostile ones (the fuzz suite's seeded mutator, and generated insertions). Both must give the same operation,
 * headers and body, or the same class of error (a protocol fault, or an input error).
 *
 * The divergences allowed are listed in differential-support.ts.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { contractFor } from '../../src/contract/index.js';
import { ARRAYS, repoRoot, SOAP11, TNS, XSI } from './support.js';
import { allOperations, buildRequest, requestTree, type Operation, type RequestInput } from '../reliability/support/envelopes.js';
import { referenceDir as sharedReference } from '../helpers/requires.js';
import { Mutator, prng } from '../reliability/support/mutate.js';
import { byBody, differential, differentialEndpoint, outcome, stats, type Endpoint } from './differential-support.js';

const endpoints = new Map<string, Endpoint>();

before(async () => {
  for (const [name, xml] of [
    ['Webhook85', contractFor('Webhook', 85).wsdlXml], ['Webhook86', contractFor('Webhook', 86).wsdlXml],
    ['Webhook87', contractFor('Webhook', 87).wsdlXml], ['Webhook88', contractFor('Webhook', 88).wsdlXml],
    ['SoPrincipal88', contractFor('SoPrincipal', 88).wsdlXml],
  ] as const) {
    endpoints.set(name, await differentialEndpoint(xml));
  }
});

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

  const referenceDir = path.join(sharedReference, 'soap-examples');
  const noReference = existsSync(referenceDir) ? undefined : `reference envelopes not found at ${referenceDir}`;
  if (noReference && process.env.CI === 'true') throw new Error(noReference);
  test('the reference envelopes (NetServer documentation)', { skip: noReference }, () => {
    for (const f of readdirSync(referenceDir).filter((x) => x.endsWith('.request.xml'))) {
      const op = f.replace('.request.xml', '') as Operation;
      const xml = readFileSync(path.join(referenceDir, f), 'utf8');
      differential(endpointOf(op), xml, op, f);
    }
  });

  // The reliability suite builds its requests from samples generated from our own WSDL (no ../shared needed).
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
    assert.ok(stats.same > 5 * (stats.foreign + stats.xsi + stats.crash + stats.early + stats.dropped + stats.bodies + stats.proto + stats.namespaces + stats.href + stats.whitespace), JSON.stringify(stats));
  });
});
