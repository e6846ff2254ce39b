/**
 * Hostile SOAP input (issue 4, part 1). Each case sends one hostile request to the real service, expects a clear
 * refusal (a SOAP 1.1 fault with HTTP 500/413/415, or HTTP 200 with Succeeded=false and an ExceptionInfo), no
 * internals on the wire, a live process, and then a normal request that still succeeds. At the end the service's
 * RSS, once settled, must be back within the bound documented in support/proc.ts.
 *
 * The service runs with BODY_LIMIT_BYTES = 16 MiB instead of 1 MiB so that the huge-array and deep-nesting cases
 * reach the parser and the validators instead of stopping at the size limit (the 20 MB and gzip cases still do).
 * Huge arrays (100 000 items) run last, each against a service of its own and with a deadline, so that one case
 * that ties the service up does not take the others down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, deflateSync, constants as zlibConstants } from 'node:zlib';
import { buildRequest, fromTree, requestTree, bodyElement, NS88, SOAP11, SOAP12, WEBHOOK_PATH, soapAction, type BuiltRequest, type RequestInput } from './support/envelopes.js';
import { openSession, recordMetric, type Session } from './support/harness.js';
import type { HttpResult } from './support/http-client.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { assertClearRefusal, assertNoLeak, assertSucceeded, readAnswer } from './support/wire.js';
import { rssMiB, rssWithinBound, settledRssMiB, RSS_FACTOR, RSS_SLACK_MIB } from './support/proc.js';
import { mustFind, setAttr, type XmlElement } from './support/xml-tree.js';
import { requires } from '../helpers/requires.js';

const relReqs = await requires('xmllint');

const BODY_LIMIT = 16 * 1024 * 1024;
/** How long a huge-array request may take before it counts as a denial of service. */
const HUGE_ARRAY_DEADLINE_MS = 10_000;

let s: Session;
let receiver: Receiver;
/** Only ever named in DTDs: any request it gets is the service fetching one. */
let dtdHost: Receiver;
let hookId = 0;
let baseline = 0;
let peak = 0;
let tried = 0;
let passed = 0;

function getHook(id: number): BuiltRequest {
  return buildRequest({ op: 'GetWebhook', webhookId: id }, s.ticket);
}

/** The request every case is followed by. */
async function normalRequestSucceeds(what: string): Promise<void> {
  assert.equal(s.service.proc.exitCode, null, `service process died after ${what}:\n${s.service.output().slice(-3000)}`);
  const r = await s.client.soap(getHook(hookId));
  assertSucceeded(r, `normal GetWebhook after ${what}`);
  assert.match(r.text, /reliability-baseline/, `normal GetWebhook after ${what} returns the hook`);
  peak = Math.max(peak, rssMiB(s.service.proc.pid!) ?? 0);
}

function post(body: Buffer | string, opts: { action?: string | null; contentType?: string; headers?: Record<string, string>; path?: string } = {}) {
  const headers: Record<string, string> = { 'Content-Type': opts.contentType ?? 'text/xml; charset=utf-8', ...(opts.headers ?? {}) };
  if (opts.action !== null) headers.SOAPAction = `"${opts.action ?? soapAction('GetWebhook')}"`;
  return s.client.request({ path: opts.path ?? WEBHOOK_PATH, headers, body, timeoutMs: 60_000 });
}

/** One hostile case: the refusal rule, then a normal request. `check` may add case-specific assertions. */
function hostile(name: string, send: () => Promise<HttpResult>, check?: (r: HttpResult) => void | Promise<void>) {
  test(name, async () => {
    tried += 1;
    const r = await send();
    assertClearRefusal(r, name);
    if (check) await check(r);
    await normalRequestSucceeds(name);
    passed += 1;
  });
}

/**
 * A case where accepting the request is also fine (lenient, not dangerous): success, or a clear refusal; never
 * internals, never a bare 5xx.
 */
function tolerant(name: string, send: () => Promise<HttpResult>) {
  test(name, async () => {
    tried += 1;
    const r = await send();
    assertNoLeak(r, name);
    if (!(r.status === 200 && readAnswer(r.text).succeeded === true)) assertClearRefusal(r, name);
    await normalRequestSucceeds(name);
    passed += 1;
  });
}

function envelopeText(body: string, header = '', ns = SOAP11): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns}" xmlns:w="${NS88}">` +
    `<s:Header><w:Credentials><w:Ticket>${s.ticket}</w:Ticket></w:Credentials>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

const getHookBody = (id: number | string) => `<w:GetWebhook><w:WebhookId>${id}</w:WebhookId></w:GetWebhook>`;

function treeWith(mutate: (env: XmlElement) => void, op: 'GetWebhook' | 'SaveWebhook' | 'SignalEvent' = 'GetWebhook'): BuiltRequest {
  const input: RequestInput = op === 'GetWebhook'
    ? { op, webhookId: hookId }
    : op === 'SaveWebhook'
      ? { op, webhook: { name: 'hostile', events: ['contact.created'], targetUrl: receiver.url } }
      : { op, eventName: 'contact.created', primaryKey: 1 };
  const env = requestTree(input, s.ticket);
  mutate(env);
  return fromTree(op, env);
}

after(() => recordMetric({ suite: 'hostile-input', cases: tried, passed, rssBaselineMiB: Math.round(baseline), rssPeakMiB: Math.round(peak) }));

describe('hostile SOAP input', { ...relReqs, timeout: 300_000 }, () => {
  before(async () => {
    receiver = await startReceiver('ok');
    dtdHost = await startReceiver('ok');
    s = await openSession({ PING_ON_SAVE: 'false', BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    const saved = await s.client.soap(buildRequest({
      op: 'SaveWebhook', webhook: { name: 'reliability-baseline', events: ['contact.created'], targetUrl: receiver.url },
    }, s.ticket));
    assertSucceeded(saved, 'baseline SaveWebhook');
    hookId = Number(/<(?:\w+:)?WebhookId>(\d+)</.exec(saved.text)?.[1]);
    assert.ok(hookId > 0, `baseline hook id from ${saved.text.slice(0, 400)}`);
    // Warm up (JIT, pools, first allocations) before taking the baseline.
    for (let i = 0; i < 200; i++) await s.client.soap(getHook(hookId));
    baseline = await settledRssMiB(s.service.proc.pid!);
    peak = baseline;
  });

  after(async () => {
    await s?.close();
    await receiver?.close();
    await dtdHost?.close();
  });

  describe('malformed XML', () => {
    hostile('truncated envelope', () => post(envelopeText(getHookBody(1)).slice(0, 180)));
    hostile('mismatched end tag', () => post(envelopeText(getHookBody(1)).replace('</w:WebhookId>', '</w:WebhookIdx>')));
    hostile('garbage bytes', () => post(Buffer.from([0x3c, 0x00, 0xff, 0xfe, 0x01, 0x02, 0x3e, 0x3c, 0x3c])));
    hostile('not XML at all', () => post('{"WebhookId": 1}'));
    hostile('empty HTTP body', () => post(''));
    hostile('unclosed attribute quote', () => post(envelopeText(getHookBody(1)).replace('<w:GetWebhook>', '<w:GetWebhook a="x>')));
    hostile('two root elements', () => post(envelopeText(getHookBody(1)) + envelopeText(getHookBody(1)).replace(/^<\?xml[^>]*\?>/, '')));
    tolerant('undeclared prefix', () => post(envelopeText('<zz:GetWebhook><zz:WebhookId>1</zz:WebhookId></zz:GetWebhook>')));
  });

  describe('DTDs and entities', () => {
    hostile('DOCTYPE with an internal entity', () => post(
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x "internal-entity-expanded">]>` +
      envelopeText(`<w:GetAllWebhooks><w:NameFilter>&x;</w:NameFilter></w:GetAllWebhooks>`).replace(/^<\?xml[^>]*\?>/, ''),
      { action: soapAction('GetAllWebhooks') },
    ), (r) => assert.doesNotMatch(r.text, /internal-entity-expanded/));

    hostile('DOCTYPE with an external file entity (XXE)', () => post(
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
      envelopeText(`<w:GetAllWebhooks><w:NameFilter>&xxe;</w:NameFilter></w:GetAllWebhooks>`).replace(/^<\?xml[^>]*\?>/, ''),
      { action: soapAction('GetAllWebhooks') },
    ), (r) => assert.doesNotMatch(r.text, /root:x:0:0/));

    hostile('external DTD on a loopback URL is not fetched', () => post(
      `<?xml version="1.0"?><!DOCTYPE s:Envelope SYSTEM "${dtdHost.url}?dtd">` + envelopeText(getHookBody(hookId)).replace(/^<\?xml[^>]*\?>/, ''),
    ), () => assert.equal(dtdHost.spans.length, 0, 'the service fetched the external DTD'));

    hostile('parameter entity to a loopback URL is not fetched', () => post(
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY % p SYSTEM "${dtdHost.url}?pe"> %p;]>` +
      envelopeText(getHookBody(hookId)).replace(/^<\?xml[^>]*\?>/, ''),
    ), () => assert.equal(dtdHost.spans.length, 0, 'the service fetched the parameter entity'));

    hostile('billion laughs', () => {
      let dtd = '<!ENTITY lol0 "lol">';
      for (let i = 1; i <= 9; i++) dtd += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
      return post(`<?xml version="1.0"?><!DOCTYPE s:Envelope [${dtd}]>` +
        envelopeText(`<w:GetAllWebhooks><w:NameFilter>&lol9;</w:NameFilter></w:GetAllWebhooks>`).replace(/^<\?xml[^>]*\?>/, ''),
      { action: soapAction('GetAllWebhooks') });
    }, (r) => assert.ok(r.bytes < 100_000, `answer of ${r.bytes} bytes: entities expanded?`));

    hostile('undeclared entity reference without a DTD', () => post(
      envelopeText(`<w:GetAllWebhooks><w:NameFilter>&lol9;</w:NameFilter></w:GetAllWebhooks>`), { action: soapAction('GetAllWebhooks') }));
  });

  describe('size and compression', () => {
    const big = () => {
      const req = buildRequest({ op: 'SaveWebhook', webhook: { name: 'big', events: ['contact.created'], targetUrl: 'http://127.0.0.1:1/x', description: '@@DESC@@' } }, s.ticket);
      const [head, tail] = req.xml.split('@@DESC@@');
      return { req, head, tail };
    };

    hostile('20 MB body with Content-Length', () => {
      const { req, head, tail } = big();
      const body = Buffer.concat([Buffer.from(head), Buffer.alloc(20 * 1024 * 1024, 0x41), Buffer.from(tail)]);
      return post(body, { action: req.action });
    }, (r) => assert.equal(r.status, 413, `20 MB body: expected 413, got ${r.status}`));

    hostile('20 MB body, chunked (no Content-Length)', () => {
      // Without a Content-Length the limit has to be enforced while reading.
      const { req, head, tail } = big();
      const body = Buffer.concat([Buffer.from(head), Buffer.alloc(20 * 1024 * 1024, 0x42), Buffer.from(tail)]);
      return post(body, { action: req.action, headers: { 'Transfer-Encoding': 'chunked' } });
    }, (r) => assert.equal(r.status, 413));

    hostile('gzip bomb (256 MiB inflated)', () => {
      const { req, head, tail } = big();
      const inflated = Buffer.concat([Buffer.from(head), Buffer.alloc(256 * 1024 * 1024, 0x41), Buffer.from(tail)]);
      const gz = gzipSync(inflated, { level: 9 });
      return post(gz, { action: req.action, headers: { 'Content-Encoding': 'gzip' } });
    }, (r) => assert.ok(r.status === 413 || r.status === 415, `gzip bomb: expected 413 (or 415 if gzip is refused), got ${r.status}`));

    hostile('deflate bomb (256 MiB inflated)', () => {
      const { req, head, tail } = big();
      const inflated = Buffer.concat([Buffer.from(head), Buffer.alloc(256 * 1024 * 1024, 0x41), Buffer.from(tail)]);
      return post(deflateSync(inflated, { level: zlibConstants.Z_BEST_COMPRESSION }), { action: req.action, headers: { 'Content-Encoding': 'deflate' } });
    }, (r) => assert.ok(r.status === 413 || r.status === 415, `deflate bomb: got ${r.status}`));

    hostile('corrupt gzip', () => post(Buffer.concat([gzipSync(Buffer.from(envelopeText(getHookBody(hookId)))).subarray(0, 30), Buffer.alloc(40, 7)]),
      { headers: { 'Content-Encoding': 'gzip' } }));

    hostile('unknown Content-Encoding', () => post(envelopeText(getHookBody(hookId)), { headers: { 'Content-Encoding': 'x-hostile' } }),
      (r) => assert.equal(r.status, 415));

    // Unknown elements are ignored (as WCF does), so answering normally is fine; the process must survive.
    tolerant('100 000 nested elements in the body', () => {
      const depth = 100_000;
      return post(envelopeText(`<w:GetWebhook><w:WebhookId>1</w:WebhookId>${'<w:n>'.repeat(depth)}${'</w:n>'.repeat(depth)}</w:GetWebhook>`));
    });

    hostile('100 000 nested elements in a value', () => {
      const depth = 100_000;
      return post(envelopeText(`<w:GetWebhook><w:WebhookId>${'<w:n>'.repeat(depth)}1${'</w:n>'.repeat(depth)}</w:WebhookId></w:GetWebhook>`));
    });

    tolerant('100 000 nested elements in the header', () => {
      const depth = 100_000;
      return post(envelopeText(getHookBody(hookId), `${'<w:n>'.repeat(depth)}${'</w:n>'.repeat(depth)}`));
    });

  });

  describe('prototype-polluting ids and hrefs', () => {
    for (const attr of ['id', 'href'] as const) {
      for (const v of ['__proto__', 'constructor', 'prototype']) {
        const value = attr === 'href' ? `#${v}` : v;
        hostile(`${attr}="${value}" on a body element`, () => s.client.soap(treeWith((env) => {
          setAttr(mustFind(bodyElement(env), ['WebhookId']), attr, value);
        })));
        hostile(`${attr}="${value}" on a nested Webhook element`, () => s.client.soap(treeWith((env) => {
          setAttr(mustFind(bodyElement(env), ['Webhook', 'Name']), attr, value);
          setAttr(mustFind(bodyElement(env), ['Webhook']), attr === 'id' ? 'href' : 'id', attr === 'id' ? `#${v}` : v);
        }, 'SaveWebhook')));
      }
    }
    hostile('id="__proto__" in a header element', () => s.client.soap(treeWith((env) => {
      setAttr(mustFind(env, ['Header', 'Credentials']), 'id', '__proto__');
    })));
    // The persistent variant: several polluting requests in a row, then many normal ones.
    test('no persistent damage after a burst of polluting requests', async () => {
      tried += 1;
      for (let i = 0; i < 20; i++) {
        const r = await s.client.soap(treeWith((env) => setAttr(mustFind(bodyElement(env), ['WebhookId']), 'id', '__proto__')));
        assertClearRefusal(r, 'burst __proto__');
      }
      for (let i = 0; i < 20; i++) await normalRequestSucceeds(`burst __proto__ #${i}`);
      passed += 1;
    });
  });

  describe('types and shapes', () => {
    hostile('xsi:type=xsd:string on an int with text', () => s.client.soap(treeWith((env) => {
      const id = mustFind(bodyElement(env), ['WebhookId']);
      setAttr(id, 'xsi:type', 'xsd:string');
      id.children = [{ text: 'not-a-number' }];
    })));
    hostile('xsi:type naming a complex type on an anyType value', () => s.client.soap(treeWith((env) => {
      const v = mustFind(bodyElement(env), ['Data']);
      v.children = [{ raw: '<Webhook:StringObjectKeyValuePair><Webhook:Key>k</Webhook:Key><Webhook:Value xsi:type="Webhook:Webhook"><Webhook:Name>x</Webhook:Name></Webhook:Value></Webhook:StringObjectKeyValuePair>' }];
    }, 'SignalEvent')));
    hostile('xsi:type with an undeclared prefix', () => s.client.soap(treeWith((env) => {
      const v = mustFind(bodyElement(env), ['Data']);
      v.children = [{ raw: '<Webhook:StringObjectKeyValuePair><Webhook:Key>k</Webhook:Key><Webhook:Value xsi:type="nope:int">x</Webhook:Value></Webhook:StringObjectKeyValuePair>' }];
    }, 'SignalEvent')));
    hostile('xsi:type int on an anyType value with text', () => s.client.soap(treeWith((env) => {
      const v = mustFind(bodyElement(env), ['Data']);
      v.children = [{ raw: '<Webhook:StringObjectKeyValuePair><Webhook:Key>k</Webhook:Key><Webhook:Value xsi:type="xsd:int">forty-two</Webhook:Value></Webhook:StringObjectKeyValuePair>' }];
    }, 'SignalEvent')));
    hostile('Webhook element typed as Associate with junk', () => s.client.soap(treeWith((env) => {
      const w = mustFind(bodyElement(env), ['Webhook']);
      setAttr(w, 'xsi:type', 'Webhook:Associate');
      mustFind(w, ['WebhookId']).children = [{ text: '99999999999999999999' }];
    }, 'SaveWebhook')));
    hostile('State outside the enumeration', () => s.client.soap(treeWith((env) => {
      mustFind(bodyElement(env), ['Webhook', 'State']).children = [{ text: 'Exploded' }];
    }, 'SaveWebhook')));
    hostile('int out of range', () => s.client.soap(treeWith((env) => {
      mustFind(bodyElement(env), ['WebhookId']).children = [{ text: '2147483648' }];
    })));
  });

  describe('envelope and routing', () => {
    hostile('unknown SOAPAction', () => post(envelopeText(getHookBody(hookId)), { action: `${NS88}/Webhook/DropAllTables` }));
    hostile('SOAPAction of another operation than the body', () => post(envelopeText(getHookBody(hookId)), { action: soapAction('DeleteWebhook') }));
    hostile('SoPrincipal action on the Webhook endpoint', () => post(envelopeText(getHookBody(hookId)), { action: soapAction('AuthenticateUsernamePassword') }));
    hostile('no SOAPAction and an unknown body element', () => post(envelopeText('<w:DropAllTables/>'), { action: null }));
    hostile('SOAP 1.2 envelope as application/soap+xml', () => post(envelopeText(getHookBody(hookId), '', SOAP12),
      { action: null, contentType: `application/soap+xml; charset=utf-8; action="${soapAction('GetWebhook')}"` }),
    (r) => assert.equal(r.status, 415));
    hostile('SOAP 1.2 envelope as text/xml', () => post(envelopeText(getHookBody(hookId), '', SOAP12)));
    hostile('root element that is not an Envelope', () => post(`<w:GetWebhook xmlns:w="${NS88}"><w:WebhookId>1</w:WebhookId></w:GetWebhook>`));
    hostile('missing Body', () => post(envelopeText('').replace(/<s:Body><\/s:Body>/, '')));
    hostile('empty Body', () => post(envelopeText('')));
    hostile('two body elements', () => post(envelopeText(getHookBody(hookId) + getHookBody(hookId))));
    hostile('two Body elements', () => post(envelopeText(getHookBody(hookId)).replace('</s:Envelope>', `<s:Body>${getHookBody(hookId)}</s:Body></s:Envelope>`)));
    hostile('no Content-Type', () => s.client.request({ path: WEBHOOK_PATH, headers: { SOAPAction: `"${soapAction('GetWebhook')}"` }, body: envelopeText(getHookBody(hookId)) }),
      (r) => assert.equal(r.status, 415));
    hostile('Content-Type application/json', () => post(envelopeText(getHookBody(hookId)), { contentType: 'application/json' }),
      (r) => assert.equal(r.status, 415));
    tolerant('mustUnderstand header the service does not know', () => post(envelopeText(getHookBody(hookId),
      `<x:Transaction xmlns:x="urn:hostile" s:mustUnderstand="1">5</x:Transaction>`)));
  });

  describe('encodings', () => {
    tolerant('ISO-8859-1 declared in Content-Type', () => post(Buffer.from(envelopeText(`<w:GetAllWebhooks><w:NameFilter>caf\u00e9</w:NameFilter></w:GetAllWebhooks>`), 'latin1'),
      { contentType: 'text/xml; charset=iso-8859-1', action: soapAction('GetAllWebhooks') }));
    hostile('Shift_JIS declared in Content-Type', () => post(envelopeText(getHookBody(hookId)), { contentType: 'text/xml; charset=shift_jis' }),
      (r) => assert.equal(r.status, 415));
    hostile('UTF-32 declared in Content-Type', () => post(envelopeText(getHookBody(hookId)), { contentType: 'text/xml; charset=utf-32' }),
      (r) => assert.equal(r.status, 415));
    hostile('invalid UTF-8 bytes declared as UTF-8', () => post(Buffer.concat([
      Buffer.from(envelopeText(`<w:GetAllWebhooks><w:NameFilter>@@</w:NameFilter></w:GetAllWebhooks>`).split('@@')[0]),
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc]),
      Buffer.from(envelopeText(`<w:GetAllWebhooks><w:NameFilter>@@</w:NameFilter></w:GetAllWebhooks>`).split('@@')[1]),
    ]), { action: soapAction('GetAllWebhooks') }));
    hostile('UTF-16 body without BOM declared as UTF-8', () => post(Buffer.from(envelopeText(getHookBody(hookId)), 'utf16le')));
    hostile('overlong UTF-8 encoding of "<"', () => post(Buffer.concat([
      Buffer.from(envelopeText(getHookBody(hookId)).slice(0, 60)), Buffer.from([0xc0, 0xbc]), Buffer.from(envelopeText(getHookBody(hookId)).slice(60)),
    ])));
    tolerant('XML declaration says EBCDIC', () => post(envelopeText(getHookBody(hookId)).replace('encoding="utf-8"', 'encoding="EBCDIC-CP-US"')));

    tolerant('UTF-16LE with BOM', () => post(
      Buffer.from('\uFEFF' + envelopeText(getHookBody(hookId)).replace('encoding="utf-8"', 'encoding="utf-16"'), 'utf16le'),
      { contentType: 'text/xml; charset=utf-16' }));
  });

  describe('methods', () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      test(`${method} is refused without internals`, async () => {
        tried += 1;
        const r = await s.client.request({ path: WEBHOOK_PATH, method, headers: { 'Content-Type': 'text/xml' }, body: envelopeText(getHookBody(hookId)) });
        assertNoLeak(r);
        assert.ok(r.status >= 400 && r.status < 500, `${method}: ${r.status}`);
        await normalRequestSucceeds(method);
        passed += 1;
      });
    }
  });

  test(`memory returns to baseline (settled RSS <= baseline + ${RSS_SLACK_MIB} MiB and <= ${RSS_FACTOR}x)`, async () => {
    tried += 1;
    const settled = await settledRssMiB(s.service.proc.pid!, 20_000);
    recordMetric({ suite: 'hostile-input-memory', rssBaselineMiB: Math.round(baseline), rssSettledMiB: Math.round(settled), rssPeakMiB: Math.round(peak) });
    assert.ok(rssWithinBound(baseline, settled),
      `RSS baseline ${baseline.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB, settled ${settled.toFixed(1)} MiB`);
    passed += 1;
  });
});

/**
 * Huge arrays, each against a service of its own: a case that ties the service up (a quadratic step) must not
 * take the cases after it down too. A deadline bounds each request: what the parser reads in a second or two must
 * not occupy the service for much longer.
 */
describe('huge arrays (one service per case)', { ...relReqs, timeout: 300_000 }, () => {
  const arrays = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';

  function isolated(name: string, env: Record<string, string>, build: (ticket: string) => BuiltRequest,
    check?: (r: HttpResult, session: Session) => void | Promise<void>) {
    test(name, async () => {
      tried += 1;
      const session = await openSession({ PING_ON_SAVE: 'false', ...env });
      let ok = false;
      try {
        const r = await session.client.soap(build(session.ticket), { timeoutMs: HUGE_ARRAY_DEADLINE_MS });
        assert.notEqual(r.status, 413, 'the request should fit the limit (else the case tests nothing)');
        if (check) await check(r, session);
        else assertClearRefusal(r, name);
        const normal = await session.client.soap(buildRequest({ op: 'GetAllWebhooks', nameFilter: 'none' }, session.ticket), { timeoutMs: HUGE_ARRAY_DEADLINE_MS });
        assertSucceeded(normal, `normal request after ${name}`);
        ok = true;
        passed += 1;
      } finally {
        // A service still tied up would not handle SIGTERM for a long time.
        if (ok) await session.close();
        else {
          session.client.close();
          await session.service.stop('SIGKILL');
        }
      }
    });
  }

  const saveWith = (ticket: string, mutate: (hook: XmlElement) => void) => {
    const env = requestTree({ op: 'SaveWebhook', webhook: { name: 'huge', events: ['contact.created'], targetUrl: 'http://127.0.0.1:9/x' } }, ticket);
    mutate(mustFind(bodyElement(env), ['Webhook']));
    return fromTree('SaveWebhook', env);
  };
  const big = { BODY_LIMIT_BYTES: String(BODY_LIMIT) };

  isolated('100 000 events in SaveWebhook', big, (ticket) => saveWith(ticket, (hook) => {
    const events = mustFind(hook, ['Events']);
    setAttr(events, 'xmlns:a', arrays);
    events.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<a:string>e${i}.x</a:string>`).join('') }];
  }), (r) => {
    assertClearRefusal(r, '100 000 events');
    assert.match(readAnswer(r.text).exceptionMessage ?? '', /Events/, 'the refusal names Events');
  });

  isolated('100 000 ErrorEmails in SaveWebhook', big, (ticket) => saveWith(ticket, (hook) => {
    const list = mustFind(hook, ['ErrorEmails']);
    setAttr(list, 'xmlns:a', arrays);
    list.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<a:string>u${i}@x.io</a:string>`).join('') }];
  }));

  isolated('100 000 ErrorAssociates in SaveWebhook', big, (ticket) => saveWith(ticket, (hook) => {
    const list = mustFind(hook, ['ErrorAssociates']);
    setAttr(list, 'xmlns:w', NS88);
    list.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<w:MDOListItem><w:Id>${i + 1}</w:Id></w:MDOListItem>`).join('') }];
  }));

  isolated('100 000 header pairs in SaveWebhook', big, (ticket) => saveWith(ticket, (hook) => {
    const headers = mustFind(hook, ['Headers']);
    setAttr(headers, 'xmlns:w', NS88);
    headers.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<w:StringKeyValuePair><w:Key>X-H${i}</w:Key><w:Value>v</w:Value></w:StringKeyValuePair>`).join('') }];
  }));

  isolated('100 000 Properties in SaveWebhook', big, (ticket) => saveWith(ticket, (hook) => {
    const props = mustFind(hook, ['Properties']);
    setAttr(props, 'xmlns:w', NS88);
    props.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<w:StringObjectKeyValuePair><w:Key>p${i}</w:Key><w:Value xsi:type="xsd:int">${i}</w:Value></w:StringObjectKeyValuePair>`).join('') }];
  }));

  // Accepting the event is fine (nobody subscribes to it); the bound is on time and on the process surviving.
  isolated('100 000 Data entries in SignalEvent', big, (ticket) => {
    const env = requestTree({ op: 'SignalEvent', eventName: 'nobody.listens', primaryKey: 1 }, ticket);
    const data = mustFind(bodyElement(env), ['Data']);
    setAttr(data, 'xmlns:w', NS88);
    data.children = [{ raw: Array.from({ length: 100_000 }, (_, i) => `<w:StringObjectKeyValuePair><w:Key>k${i}</w:Key><w:Value xsi:type="xsd:int">${i}</w:Value></w:StringObjectKeyValuePair>`).join('') }];
    return fromTree('SignalEvent', env);
  }, (r) => {
    assertNoLeak(r);
    if (readAnswer(r.text).succeeded !== true) assertClearRefusal(r, '100 000 Data entries');
  });

  // Within the default 1 MiB limit: whatever a save accepts must not make every later read of it slow.
  isolated('a list saved within the default limit does not slow later reads', {}, (ticket) => saveWith(ticket, (hook) => {
    const list = mustFind(hook, ['ErrorEmails']);
    setAttr(list, 'xmlns:a', arrays);
    list.children = [{ raw: Array.from({ length: 30_000 }, (_, i) => `<a:string>u${i}@x.io</a:string>`).join('') }];
  }), async (r, session) => {
    assertNoLeak(r);
    if (readAnswer(r.text).succeeded !== true) {
      assertClearRefusal(r, '30 000 ErrorEmails');
      return;
    }
    for (let i = 0; i < 3; i++) {
      // Reading back one hook: a linear implementation needs a fraction of a second for this.
      const all = await session.client.soap(buildRequest({ op: 'GetAllWebhooks' }, session.ticket), { timeoutMs: 5_000 });
      assertSucceeded(all, `GetAllWebhooks #${i} after saving 30 000 ErrorEmails`);
    }
  });
});
