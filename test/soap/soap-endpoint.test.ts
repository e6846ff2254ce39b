import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { SoapContext, SoapHandler } from '../../src/soap/soap-endpoint.js';
import { AppError } from '../../src/errors.js';
import { validateAgainstWsdl } from '../helpers/xsd.js';
import {
  ARRAYS, FAULT_SHAPE, PATH88, SOAP11, SOAP12, TNS, WRAPPER_DECLS, XSI, actionFor, defaultHeaders, elementText,
  monoEnvelope, okHeaders, request, responseEnvelope, soapPost, startEndpoint, wsdlPath, wsdlXml, type TestServer,
} from './support.js';
import { requires } from '../helpers/requires.js';

const xmllint = await requires('xmllint');

const XML_TYPE = 'text/xml; charset=utf-8';

/** What the handlers saw, for assertions. */
const seen: Array<{ op: string; body: Record<string, unknown>; ctx: SoapContext }> = [];

function webhookOut(id: number): Record<string, unknown> {
  return {
    WebhookId: id, Name: 'hook', Events: ['contact.created'], TargetUrl: 'https://example.com/h', Secret: null,
    State: 'Active', Type: 'webhook', Headers: [], Properties: [{ Key: 'n', Value: 1 }],
    Registered: new Date(Date.UTC(2023, 10, 5, 14, 3, 27, 123)), RegisteredAssociate: null,
  };
}

const handlers: Record<string, SoapHandler> = {
  CreateDefaultWebhook: async (body, ctx) => {
    seen.push({ op: 'CreateDefaultWebhook', body, ctx });
    ctx.setExtraInfo({ served: 'by test' });
    return { Response: webhookOut(0) };
  },
  SaveWebhook: async (body, ctx) => {
    seen.push({ op: 'SaveWebhook', body, ctx });
    const w = body.Webhook as Record<string, unknown>;
    if (w.Name === 'boom') throw new Error('database password is hunter2');
    if (w.Name === 'bad-output') return { Response: { WebhookId: 'not a number' } };
    return { Response: { ...w, WebhookId: 7 } };
  },
  DeleteWebhook: async (body, ctx) => {
    seen.push({ op: 'DeleteWebhook', body, ctx });
  },
  GetWebhook: async (body, ctx) => {
    seen.push({ op: 'GetWebhook', body, ctx });
    if (body.WebhookId === 404) throw new AppError('not_found', 'Webhook 404 not found', { friendlyText: 'No such webhook' });
    return { Response: webhookOut(body.WebhookId as number) };
  },
  GetAllWebhooks: async () => ({ Response: [webhookOut(1), webhookOut(2)] }),
  SignalEvent: async (body, ctx) => {
    seen.push({ op: 'SignalEvent', body, ctx });
  },
  // nothing returned: the wrapper's nillable Response is written as nil, as WCF writes a null return value
  GetLastError: async () => undefined,
  // TestWebhook deliberately has no handler
};

const post = (s: TestServer, op: string, bodyXml: string, opts: Parameters<typeof soapPost>[2] = {}) =>
  soapPost(s.url, monoEnvelope(bodyXml), { action: `"${actionFor(op)}"`, ...opts });

const getWebhook = (id: string | number) => `<GetWebhook xmlns="${TNS}"><WebhookId>${id}</WebhookId></GetWebhook>`;

function assertFault(r: { status: number; contentType: string | undefined; text: string }, status: number, code = 'Client'): string {
  assert.equal(r.status, status, r.text);
  assert.equal(r.contentType, XML_TYPE);
  const m = FAULT_SHAPE.exec(r.text);
  assert.ok(m, `not a SOAP 1.1 fault: ${r.text}`);
  assert.equal(m[1], code);
  assert.ok(!/\bat .*\.(ts|js):\d+/.test(r.text), 'no stack trace on the wire');
  return m[2];
}

describe('SOAP endpoint over HTTP (Services88 Webhook)', () => {
  let s: TestServer;
  before(async () => {
    s = await startEndpoint({ handlers });
  });
  after(() => s.close());

  test("Mono WCF's SaveWebhook: typed body, headers in ctx, full response in WCF order", xmllint, async () => {
    seen.length = 0;
    const req = readFileSync(new URL('./fixtures/mono-wcf-SaveWebhook.xml', import.meta.url), 'utf8');
    const r = await soapPost(s.url, req, { action: `"${actionFor('SaveWebhook')}"`, headers: { Expect: '100-continue' } });
    assert.equal(r.status, 200);
    assert.equal(r.contentType, XML_TYPE);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].ctx.headers, { applicationToken: 'clients-check', ticket: '7T:example-ticket', timeZone: null });
    assert.equal(seen[0].ctx.operation, 'SaveWebhook');
    const w = seen[0].body.Webhook as Record<string, unknown>;
    assert.deepEqual(w.Properties, [{ Key: 'strProp', Value: 'hello <&> world' }, { Key: 'intProp', Value: 42 }]);
    assert.deepEqual(w.NotifyVia, []);
    const expected = responseEnvelope(okHeaders(), `<SaveWebhookResponse${WRAPPER_DECLS}><Response>`
      + '<WebhookId>7</WebhookId><Name>clients-check-mono-wcf-1795839322-30676</Name>'
      + '<Events><a:string>contact.created</a:string><a:string>sale.changed</a:string></Events>'
      + '<TargetUrl>http://127.0.0.1:18481/hook?client=mono-wcf&amp;run=1795839322-30676</TargetUrl>'
      + '<Secret>s3cret-1795839322-30676</Secret><State>Active</State><Type>webhook</Type>'
      + '<Headers><StringKeyValuePair><Key>X-Check-Client</Key><Value>mono-wcf</Value></StringKeyValuePair>'
      + '<StringKeyValuePair><Key>X-Check-Run</Key><Value>1795839322-30676</Value></StringKeyValuePair></Headers>'
      + '<Properties><StringObjectKeyValuePair><Key>strProp</Key><Value i:type="b:string">hello &lt;&amp;&gt; world</Value></StringObjectKeyValuePair>'
      + '<StringObjectKeyValuePair><Key>intProp</Key><Value i:type="b:int">42</Value></StringObjectKeyValuePair></Properties>'
      + '<Registered>0001-01-01T00:00:00</Registered><RegisteredAssociate i:nil="true"/>'
      + '<Updated>0001-01-01T00:00:00</Updated><UpdatedAssociate i:nil="true"/>'
      + '<ErrorsEmail i:nil="true"/><ErrorEmails i:nil="true"/><ErrorAssociates i:nil="true"/><Description>clients check</Description>'
      + '<NotifyVia></NotifyVia><NotifyWhen></NotifyWhen><TotalCalls>0</TotalCalls><TotalErrors>0</TotalErrors>'
      + '<ConsecutiveErrors>0</ConsecutiveErrors><LastError i:nil="true"/></Response></SaveWebhookResponse>');
    assert.equal(r.text, expected);
    const v = await validateAgainstWsdl(wsdlPath('Services88-Webhook.wsdl'), r.text);
    assert.equal(v.errors, '');
  });

  test("zeep's SignalEvent (ns0: prefixes, WS-Addressing headers, xs:int anyType)", async () => {
    seen.length = 0;
    const req = readFileSync(new URL('./fixtures/zeep-SignalEvent.xml', import.meta.url), 'utf8');
    const r = await soapPost(s.url, req, { action: `"${actionFor('SignalEvent')}"` });
    assert.equal(r.status, 200);
    assert.equal(r.text, responseEnvelope(okHeaders(), `<SignalEventResponse xmlns="${TNS}"/>`));
    assert.deepEqual(seen[0].body, {
      EventName: 'contact.created', PrimaryKey: 123, Data: [{ Key: 'source', Value: 'zeep' }, { Key: 'count', Value: 7 }],
    });
  });

  test('void operations answer an empty wrapper; every response carries the four headers in WSDL order', xmllint, async () => {
    const r = await post(s, 'DeleteWebhook', `<DeleteWebhook xmlns="${TNS}"><WebhookId>3</WebhookId></DeleteWebhook>`);
    assert.equal(r.text, responseEnvelope(okHeaders(), `<DeleteWebhookResponse xmlns="${TNS}"/>`));
    const last = await post(s, 'GetLastError', `<GetLastError xmlns="${TNS}"><WebhookId>3</WebhookId></GetLastError>`);
    assert.equal(last.text, responseEnvelope(okHeaders(),
      `<GetLastErrorResponse xmlns="${TNS}" xmlns:i="${XSI}"><Response i:nil="true"/></GetLastErrorResponse>`));
    for (const [op, body] of [
      ['CreateDefaultWebhook', `<CreateDefaultWebhook xmlns="${TNS}"/>`],
      ['GetAllWebhooks', `<GetAllWebhooks xmlns="${TNS}"><NameFilter/><StatusFilter>Unknown</StatusFilter></GetAllWebhooks>`],
      ['GetWebhook', getWebhook(404)],
      ['TestWebhook', `<TestWebhook xmlns="${TNS}"><Webhook/></TestWebhook>`],
    ]) {
      const res = await post(s, op, body);
      assert.equal(res.status, 200, op);
      assert.match(res.text, new RegExp(`^<s:Envelope xmlns:s="[^"]+"><s:Header><ExceptionInfo[ >].*</ExceptionInfo>|^<s:Envelope xmlns:s="[^"]+"><s:Header><ExceptionInfo [^>]*/>`), op);
      const order = ['ExceptionInfo', 'ExtraInfo', 'Succeeded', 'TimeZone'].map((h) => res.text.indexOf(`<${h} `) >= 0
        ? res.text.indexOf(`<${h} `) : res.text.indexOf(`<${h}>`));
      assert.ok(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1])), `${op}: headers in WSDL order`);
      const v = await validateAgainstWsdl(wsdlPath('Services88-Webhook.wsdl'), res.text);
      assert.equal(v.errors, '', op);
    }
  });

  test('ExtraInfo set by the handler is written as the ExtraInfo header', async () => {
    const r = await post(s, 'CreateDefaultWebhook', `<CreateDefaultWebhook xmlns="${TNS}"/>`);
    assert.match(r.text, new RegExp(`<ExtraInfo xmlns="${TNS}" xmlns:i="${XSI}"><ExtraInfoNameValuePair><Key>served</Key>`
      + '<Value>by test</Value></ExtraInfoNameValuePair></ExtraInfo><Succeeded [^>]*>true</Succeeded>'));
  });

  test('a business error is HTTP 200, Succeeded=false, ExceptionInfo filled, nil Response, TimeZone echoed', async () => {
    const tz = `<TimeZone xmlns="${TNS}"><SoTimeZoneId>27</SoTimeZoneId><SoTimeZoneLocationCode>NO</SoTimeZoneLocationCode></TimeZone>`;
    const r = await soapPost(s.url, monoEnvelope(getWebhook(404), defaultHeaders() + tz), { action: actionFor('GetWebhook') });
    assert.equal(r.status, 200);
    assert.equal(r.text, responseEnvelope(
      `<ExceptionInfo xmlns="${TNS}" xmlns:i="${XSI}"><Message>Webhook 404 not found</Message><StackTrace i:nil="true"/>`
      + '<FriendlyText>No such webhook</FriendlyText><ExceptionType>SuperOffice.CRM.SoNotFoundException</ExceptionType>'
      + '<Source>webhook-agent</Source><InnerException i:nil="true"/><Parameters><SoExceptionInfoParametersKeyValuePair>'
      + '<Key>code</Key><Value>not_found</Value></SoExceptionInfoParametersKeyValuePair></Parameters></ExceptionInfo>'
      + `<ExtraInfo i:nil="true" xmlns="${TNS}" xmlns:i="${XSI}"/><Succeeded xmlns="${TNS}">false</Succeeded>`
      + `<TimeZone xmlns="${TNS}" xmlns:i="${XSI}"><SoTimeZoneId>27</SoTimeZoneId><SoTimeZoneLocationCode>NO</SoTimeZoneLocationCode></TimeZone>`,
      `<GetWebhookResponse${WRAPPER_DECLS}><Response i:nil="true"/></GetWebhookResponse>`));
    assert.ok(s.logger.entries.some((e) => e.level === 'info' && e.obj.code === 'not_found'));
  });

  test('an operation without a handler answers Succeeded=false, not a fault', async () => {
    const r = await post(s, 'TestWebhook', `<TestWebhook xmlns="${TNS}"><Webhook/></TestWebhook>`);
    assert.equal(r.status, 200);
    assert.equal(elementText(r.text, 'Succeeded'), 'false');
    assert.match(elementText(r.text, 'Message') ?? '', /TestWebhook is not supported/);
    assert.match(r.text, /<TestWebhookResponse[^>]*><Response i:nil="true"\/><\/TestWebhookResponse>/);
  });

  test('an unknown error gets a generic message (nothing leaked) and is logged', async () => {
    s.logger.entries.length = 0;
    const r = await post(s, 'SaveWebhook', `<SaveWebhook xmlns="${TNS}"><Webhook><Name>boom</Name></Webhook></SaveWebhook>`);
    assert.equal(r.status, 200);
    assert.equal(elementText(r.text, 'Succeeded'), 'false');
    assert.ok(!r.text.includes('hunter2'));
    assert.match(elementText(r.text, 'Message') ?? '', /internal error/i);
    assert.match(r.text, /<StackTrace i:nil="true"\/>/);
    const logged = s.logger.entries.find((e) => e.level === 'error');
    assert.ok(logged && (logged.obj.err as Error).message.includes('hunter2'));
  });

  test('a handler value that cannot be serialized becomes an internal error response', async () => {
    const r = await post(s, 'SaveWebhook', `<SaveWebhook xmlns="${TNS}"><Webhook><Name>bad-output</Name></Webhook></SaveWebhook>`);
    assert.equal(r.status, 200);
    assert.equal(elementText(r.text, 'Succeeded'), 'false');
    assert.match(r.text, /<SaveWebhookResponse[^>]*><Response i:nil="true"\/><\/SaveWebhookResponse>/);
  });

  test('"12abc" for an int answers ExceptionInfo naming the field; the handler is not called', async () => {
    seen.length = 0;
    const r = await post(s, 'SaveWebhook', `<SaveWebhook xmlns="${TNS}"><Webhook><WebhookId>12abc</WebhookId></Webhook></SaveWebhook>`);
    assert.equal(r.status, 200);
    assert.equal(seen.length, 0);
    assert.equal(elementText(r.text, 'Succeeded'), 'false');
    assert.match(elementText(r.text, 'Message') ?? '', /Webhook\.WebhookId/);
    assert.match(r.text, /<Key>field<\/Key><Value>Webhook\.WebhookId<\/Value>/);
    assert.match(r.text, /<Key>code<\/Key><Value>invalid_argument<\/Value>/);
  });

  test('anyType input: WCF-style, zeep-style and untyped values reach the handler typed', async () => {
    seen.length = 0;
    const data = `<Data xmlns:i="${XSI}">`
      + `<StringObjectKeyValuePair><Key>wcf</Key><Value xmlns:d6p1="http://www.w3.org/2001/XMLSchema" i:type="d6p1:int">7</Value></StringObjectKeyValuePair>`
      + `<StringObjectKeyValuePair><Key>zeep</Key><Value xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${XSI}" xsi:type="xs:boolean">true</Value></StringObjectKeyValuePair>`
      + '<StringObjectKeyValuePair><Key>plain</Key><Value>42</Value></StringObjectKeyValuePair>'
      + `<StringObjectKeyValuePair><Key>when</Key><Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:dateTime">2024-02-29T12:00:00</Value></StringObjectKeyValuePair>`
      + `<StringObjectKeyValuePair><Key>list</Key><Value xmlns:a="${ARRAYS}" i:type="a:ArrayOfstring"><a:string>x</a:string></Value></StringObjectKeyValuePair>`
      + '</Data>';
    const r = await post(s, 'SignalEvent', `<SignalEvent xmlns="${TNS}"><EventName>e</EventName><PrimaryKey>1</PrimaryKey>${data}</SignalEvent>`);
    assert.equal(elementText(r.text, 'Succeeded'), 'true');
    assert.deepEqual(seen[0].body.Data, [
      { Key: 'wcf', Value: 7 }, { Key: 'zeep', Value: true }, { Key: 'plain', Value: '42' },
      { Key: 'when', Value: new Date(Date.UTC(2024, 1, 29, 12)) }, { Key: 'list', Value: ['x'] },
    ]);
  });

  test('routing: quoted, unquoted, bare-name and empty SOAPAction; the body decides when there is no action', async () => {
    for (const action of [`"${actionFor('GetWebhook')}"`, actionFor('GetWebhook'), 'GetWebhook', '"GetWebhook"', '""', '', null]) {
      const r = await soapPost(s.url, monoEnvelope(getWebhook(5)), { action });
      assert.equal(r.status, 200, `SOAPAction ${String(action)}`);
      assert.match(r.text, /<GetWebhookResponse[^>]*><Response><WebhookId>5<\/WebhookId>/);
    }
  });

  test('protocol errors are SOAP 1.1 faults with the right status', async () => {
    const ok = monoEnvelope(getWebhook(1));
    const act = { action: `"${actionFor('GetWebhook')}"` };
    const soap12 = `<e:Envelope xmlns:e="${SOAP12}"><e:Body>${getWebhook(1)}</e:Body></e:Envelope>`;
    assertFault(await soapPost(s.url, soap12, { contentType: 'application/soap+xml; charset=utf-8' }), 415);
    assertFault(await request(s.url, { method: 'POST', body: ok }), 415);
    assertFault(await soapPost(s.url, ok, { ...act, contentType: 'application/xml' }), 415);
    assertFault(await soapPost(s.url, ok, { ...act, contentType: 'text/xml; charset=iso-8859-1' }), 415);
    assertFault(await soapPost(s.url, ok.replace('</s:Body>', '</s:Bod>'), act), 500);
    assertFault(await soapPost(s.url, '', act), 500);
    assertFault(await soapPost(s.url, `<!DOCTYPE s:Envelope>${ok.replace(/^<\?xml[^>]*>/, '')}`, act), 500);
    assertFault(await soapPost(s.url, ok, { action: `"${TNS}/Webhook/Nope"` }), 500);
    assertFault(await soapPost(s.url, ok, { action: `"${actionFor('GetWebhook', 85)}"` }), 500);
    assertFault(await soapPost(s.url, ok, { action: `"${actionFor('DeleteWebhook')}"` }), 500);
    assertFault(await soapPost(s.url, `<s:Envelope xmlns:s="${SOAP11}"><s:Header/></s:Envelope>`, act), 500);
    assertFault(await soapPost(s.url, `<s:Envelope xmlns:s="${SOAP11}"><s:Body>${getWebhook(1)}${getWebhook(2)}</s:Body></s:Envelope>`, act), 500);
    assertFault(await soapPost(s.url, soap12, act), 500, 'VersionMismatch');
    assertFault(await soapPost(s.url, `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Foo xmlns="${TNS}"/></s:Body></s:Envelope>`, { action: '' }), 500);
    assertFault(await soapPost(s.url, Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), act), 500);
    // and the endpoint still works
    assert.equal((await soapPost(s.url, ok, act)).status, 200);
  });

  test('__proto__ multi-ref attack is refused and the next request is unaffected', async () => {
    for (const attack of [
      `<GetWebhook xmlns="${TNS}"><WebhookId id="__proto__">42</WebhookId></GetWebhook>`,
      `<GetWebhook xmlns="${TNS}" href="#__proto__"><WebhookId id="constructor">42</WebhookId></GetWebhook>`,
      `<GetWebhook xmlns="${TNS}"><WebhookId id="&#95;_proto__">42</WebhookId></GetWebhook>`,
    ]) {
      assertFault(await post(s, 'GetWebhook', attack), 500);
    }
    assert.equal(({} as Record<string, unknown>).obj, undefined, 'Object.prototype untouched');
    const r = await post(s, 'GetWebhook', getWebhook(9));
    assert.equal(r.status, 200);
    assert.equal(elementText(r.text, 'Succeeded'), 'true');
  });

  test('UTF-16 with BOM and gzip-compressed requests are accepted', async () => {
    const xml = monoEnvelope(getWebhook(6));
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml.replace('utf-8', 'utf-16'), 'utf16le')]);
    const a = await soapPost(s.url, utf16, { action: actionFor('GetWebhook'), contentType: 'text/xml; charset=utf-16' });
    assert.equal(a.status, 200, a.text);
    const b = await soapPost(s.url, gzipSync(Buffer.from(xml)), { action: actionFor('GetWebhook'), headers: { 'Content-Encoding': 'gzip' } });
    assert.equal(b.status, 200, b.text);
  });

  test('GET ?wsdl (any case, singleWsdl, wsdl=wsdl0) serves the WSDL with this URL as soap:address', async () => {
    const original = wsdlXml();
    for (const q of ['wsdl', 'WSDL', 'singleWsdl', 'wsdl=wsdl0', 'Wsdl=WSDL0']) {
      const r = await request(`${s.url}?${q}`);
      assert.equal(r.status, 200, q);
      assert.equal(r.contentType, XML_TYPE);
      const location = `http://127.0.0.1:${s.port}${PATH88}`;
      assert.equal(r.text, original.replace(/(<soap:address location=")[^"]*/, `$1${location}`), q);
    }
    const page = await request(s.url);
    assert.equal(page.status, 200);
    assert.match(page.contentType ?? '', /^text\/html/);
    assert.equal((await request(s.url, { method: 'PUT', body: 'x' })).status, 405);
  });

  test('X-Forwarded-* is ignored without trust proxy', async () => {
    const r = await request(`${s.url}?wsdl`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' } });
    assert.match(r.text, new RegExp(`<soap:address location="http://127\\.0\\.0\\.1:${s.port}${PATH88}"/>`));
  });
});

describe('SOAP endpoint options', () => {
  test("?wsdl honours X-Forwarded-Proto/-Host when the app has 'trust proxy'", async () => {
    const s = await startEndpoint({ handlers }, { trustProxy: true });
    try {
      const r = await request(`${s.url}?wsdl`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'crm.example.com' } });
      assert.match(r.text, new RegExp(`<soap:address location="https://crm\\.example\\.com${PATH88}"/>`));
      const bad = await request(`${s.url}?wsdl`, { headers: { 'X-Forwarded-Host': 'x"><script>' } });
      assert.equal(bad.status, 400);
    } finally {
      await s.close();
    }
  });

  test('bodies over the limit get 413 (also when compressed), smaller ones pass', async () => {
    const s = await startEndpoint({ handlers, bodyLimitBytes: 4096 });
    try {
      const big = monoEnvelope(`<SaveWebhook xmlns="${TNS}"><Webhook><Name>${'x'.repeat(5000)}</Name></Webhook></SaveWebhook>`);
      assertFault(await soapPost(s.url, big, { action: actionFor('SaveWebhook') }), 413);
      assertFault(await soapPost(s.url, gzipSync(Buffer.from(big)), { action: actionFor('SaveWebhook'), headers: { 'Content-Encoding': 'gzip' } }), 413);
      const r = await soapPost(s.url, monoEnvelope(getWebhook(1)), { action: actionFor('GetWebhook') });
      assert.equal(r.status, 200);
    } finally {
      await s.close();
    }
  });

  test('debug mode puts the internal message and stack trace on the wire', async () => {
    const s = await startEndpoint({ handlers, debug: true });
    try {
      const r = await soapPost(s.url, monoEnvelope(`<SaveWebhook xmlns="${TNS}"><Webhook><Name>boom</Name></Webhook></SaveWebhook>`),
        { action: actionFor('SaveWebhook') });
      assert.equal(elementText(r.text, 'Message'), 'database password is hunter2');
      assert.match(elementText(r.text, 'StackTrace') ?? '', /soap-endpoint\.test\.ts/);
    } finally {
      await s.close();
    }
  });

  test('a handler for an operation the WSDL lacks rejects ready', async () => {
    const { createSoapEndpoint } = await import('../../src/soap/soap-endpoint.js');
    const { recordingLogger } = await import('./support.js');
    const ep = createSoapEndpoint({ wsdlXml: wsdlXml(), logger: recordingLogger(), handlers: { Nope: async () => ({}) } });
    await assert.rejects(ep.ready, /unknown operation Nope/);
  });
});

describe('SOAP endpoint for SoPrincipal (several wrapper children, ApplicationToken-only request headers)', () => {
  test('AuthenticateUsernamePassword answers AuthenticateResponse with all three children', xmllint, async () => {
    const principalAction = 'http://www.superoffice.net/ws/crm/NetServer/Services88/SoPrincipal/AuthenticateUsernamePassword';
    let ctxSeen: SoapContext | undefined;
    const s = await startEndpoint({
      wsdlXml: wsdlXml('Services88-SoPrincipal.wsdl'),
      handlers: {
        AuthenticateUsernamePassword: async (body: { UserName?: string; Password?: string }, ctx) => {
          ctxSeen = ctx;
          if (body.Password !== 'pw') return { AuthenticationSucceeded: false };
          return { Response: { AssociateId: 5, SecondaryGroups: [] }, Credentials: { Ticket: '7T:abc' }, AuthenticationSucceeded: true };
        },
      },
    }, { path: '/Remote/Services88/SoPrincipal.svc' });
    try {
      const req = (pw: string) => monoEnvelope(`<AuthenticateUsernamePassword xmlns="${TNS}"><UserName>sal</UserName><Password>${pw}</Password></AuthenticateUsernamePassword>`,
        `<ApplicationToken xmlns="${TNS}">tok</ApplicationToken>`);
      const ok = await soapPost(s.url, req('pw'), { action: `"${principalAction}"` });
      assert.equal(ok.status, 200);
      assert.deepEqual(ctxSeen?.headers, { applicationToken: 'tok', ticket: null, timeZone: null });
      assert.ok(ok.text.endsWith(`<s:Body><AuthenticateResponse xmlns="${TNS}" xmlns:a="${ARRAYS}" xmlns:i="${XSI}"><Response>`
        + '<AssociateId>5</AssociateId><SecondaryGroups/></Response><Credentials><Ticket>7T:abc</Ticket></Credentials>'
        + '<AuthenticationSucceeded>true</AuthenticationSucceeded></AuthenticateResponse></s:Body></s:Envelope>'), ok.text);
      const no = await soapPost(s.url, req('wrong'), { action: `"${principalAction}"` });
      assert.match(no.text, /<AuthenticateResponse[^>]*><Response i:nil="true"\/><Credentials i:nil="true"\/><AuthenticationSucceeded>false<\/AuthenticationSucceeded><\/AuthenticateResponse>/);
      for (const r of [ok, no]) {
        const v = await validateAgainstWsdl(wsdlPath('Services88-SoPrincipal.wsdl'), r.text);
        assert.equal(v.errors, '');
      }
      const unimplemented = await soapPost(s.url, monoEnvelope(`<GetSystemInfo xmlns="${TNS}"/>`, ''), { action: 'GetSystemInfo' });
      assert.equal(elementText(unimplemented.text, 'Succeeded'), 'false');
    } finally {
      await s.close();
    }
  });
});
