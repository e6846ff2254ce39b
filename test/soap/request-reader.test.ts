import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadWsdlContract, type WsdlContract } from '../../src/soap/wsdl-contract.js';
import { createRequestReader, type ReadRequest, type RequestReader } from '../../src/soap/request-reader.js';
import { compileSerializer, type CompiledSerializer } from '../../src/soap/compiled-serializer.js';
import { SoapInputError } from '../../src/soap/soap-input-error.js';
import { SoapProtocolError } from '../../src/soap/soap-fault.js';
import { decimalValue } from '../../src/webhooks/exact-json.js';
import { SOAP11, SOAP12, TNS, XSI, ARRAYS, monoEnvelope, defaultHeaders, wsdlXml } from './support.js';

let contract: WsdlContract;
let reader: RequestReader;
let serializer: CompiledSerializer;

before(async () => {
  contract = await loadWsdlContract(wsdlXml());
  reader = createRequestReader(contract);
  serializer = compileSerializer(contract.model);
});


/** Read with the operation chosen by the body element, as for a request without SOAPAction. */
function read(xml: string): ReadRequest {
  return reader.read(xml, null, (name) => {
    const o = [...contract.operations.values()].find((x) => x.input.name === name);
    if (!o) throw new SoapProtocolError(500, 'Client', `Unexpected body element '${name}'.`);
    return o;
  });
}

function body(opName: string, xml: string): Record<string, unknown> {
  const r = read(xml);
  assert.equal(r.op.name, opName);
  if (r.error) throw r.error;
  return r.body;
}

const saveWebhook = (webhookXml: string): string =>
  monoEnvelope(`<SaveWebhook xmlns="${TNS}"><Webhook xmlns:i="${XSI}">${webhookXml}</Webhook></SaveWebhook>`);

function inputError(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SoapInputError, `expected SoapInputError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.ok(err.message.includes(field), err.message);
    return true;
  });
}

describe('request body normalisation', () => {
  test('values are typed from the schema; collections and dictionaries become arrays', () => {
    const b = body('SaveWebhook', saveWebhook(
      '<WebhookId>12</WebhookId><Name>  padded  </Name>'
      + `<Events xmlns:d5p1="${ARRAYS}"><d5p1:string>a</d5p1:string></Events>`
      + '<State>Stopped</State><Headers><StringKeyValuePair><Key>k</Key><Value>v</Value></StringKeyValuePair></Headers>'
      + '<Registered>2023-11-05T14:03:27.1234567</Registered><NotifyVia>Email InApp</NotifyVia><TotalCalls>-3</TotalCalls>'
      + '<RegisteredAssociate><TableRight><Mask>Select Filtering</Mask></TableRight><Deleted>1</Deleted><Rank>7</Rank></RegisteredAssociate>'));
    assert.deepEqual(b, {
      Webhook: {
        WebhookId: 12,
        Name: '  padded  ',
        Events: ['a'],
        State: 'Stopped',
        Headers: [{ Key: 'k', Value: 'v' }],
        Registered: new Date(Date.UTC(2023, 10, 5, 14, 3, 27, 123)),
        RegisteredAssociate: { TableRight: { Mask: ['Select', 'Filtering'] }, Deleted: true, Rank: 7 },
        NotifyVia: ['Email', 'InApp'],
        TotalCalls: -3,
      },
    });
  });

  test('empty non-string elements give defaults, nil strings give null, empty strings stay empty', () => {
    const b = body('SaveWebhook', saveWebhook(
      '<WebhookId/><Name></Name><Secret i:nil="true"/><State/><Registered/><NotifyVia/><NotifyWhen />'
      + '<ErrorEmails i:nil="true"/><UpdatedAssociate i:nil="true"/><TotalCalls i:nil="true"/>'));
    const w = b.Webhook as Record<string, unknown>;
    assert.equal(w.WebhookId, 0);
    assert.equal(w.Name, '');
    assert.equal(w.Secret, null);
    assert.equal(w.State, 'Unknown');
    assert.equal((w.Registered as Date).toISOString(), '0001-01-01T00:00:00.000Z');
    assert.deepEqual(w.NotifyVia, []);
    assert.deepEqual(w.NotifyWhen, []);
    assert.equal(w.ErrorEmails, null);
    assert.equal(w.UpdatedAssociate, null);
    assert.equal(w.TotalCalls, 0);
    assert.ok(!('Description' in w), 'absent members stay absent');
  });

  test('dateTime without offset is read as UTC whatever the process time zone', () => {
    const before = process.env.TZ;
    process.env.TZ = 'Pacific/Auckland';
    try {
      const cases: Array<[string, number]> = [
        ['2024-02-29T12:00:00', Date.UTC(2024, 1, 29, 12)],
        ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
        ['2024-02-29T12:00:00+02:00', Date.UTC(2024, 1, 29, 10)],
        ['2024-02-29T12:00:00.5-01:30', Date.UTC(2024, 1, 29, 13, 30, 0, 500)],
        ['0001-01-01T00:00:00', minTime()],
      ];
      for (const [text, t] of cases) {
        const w = body('SaveWebhook', saveWebhook(`<Registered>${text}</Registered>`)).Webhook as Record<string, unknown>;
        assert.equal((w.Registered as Date).getTime(), t, text);
      }
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  test('ints are validated strictly, with the field named (node-soap alone reads "12abc" as 12)', () => {
    inputError(() => body('SaveWebhook', saveWebhook('<WebhookId>12abc</WebhookId>')), 'Webhook.WebhookId');
    inputError(() => body('SaveWebhook', saveWebhook('<WebhookId>1.5</WebhookId>')), 'Webhook.WebhookId');
    inputError(() => body('SaveWebhook', saveWebhook('<WebhookId>2147483648</WebhookId>')), 'Webhook.WebhookId');
    inputError(() => body('SaveWebhook', saveWebhook('<RegisteredAssociate><Rank>40000</Rank></RegisteredAssociate>')),
      'Webhook.RegisteredAssociate.Rank');
    inputError(() => body('GetWebhook', monoEnvelope(`<GetWebhook xmlns="${TNS}"><WebhookId>0x10</WebhookId></GetWebhook>`)), 'WebhookId');
    assert.deepEqual(body('GetWebhook', monoEnvelope(`<GetWebhook xmlns="${TNS}"><WebhookId> +42 </WebhookId></GetWebhook>`)), { WebhookId: 42 });
  });

  test('other bad simple values are input errors naming the field', () => {
    inputError(() => body('SaveWebhook', saveWebhook('<State>Paused</State>')), 'Webhook.State');
    inputError(() => body('SaveWebhook', saveWebhook('<NotifyVia>Email Sms</NotifyVia>')), 'Webhook.NotifyVia');
    inputError(() => body('SaveWebhook', saveWebhook('<Registered>2023-02-30T00:00:00</Registered>')), 'Webhook.Registered');
    inputError(() => body('SaveWebhook', saveWebhook('<RegisteredAssociate><Deleted>yes</Deleted></RegisteredAssociate>')),
      'Webhook.RegisteredAssociate.Deleted');
    inputError(() => body('SaveWebhook', saveWebhook('<Name>a</Name><Name>b</Name>')), 'Webhook.Name');
    inputError(() => body('SaveWebhook', saveWebhook('<WebhookId><x>1</x></WebhookId>')), 'Webhook.WebhookId');
  });

  test('anyType values: typed by the local name of xsi:type under any prefix, untyped as text', () => {
    const pair = (value: string) => `<StringObjectKeyValuePair><Key>k</Key>${value}</StringObjectKeyValuePair>`;
    const cases: Array<[string, unknown]> = [
      [`<Value xmlns:d7p1="http://www.w3.org/2001/XMLSchema" i:type="d7p1:int">42</Value>`, 42],
      [`<Value xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${XSI}" xsi:type="xs:int">7</Value>`, 7],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:long">9007199254740991</Value>`, 9007199254740991],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:short">-5</Value>`, -5],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:double">1.5E3</Value>`, 1500],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:decimal">12.50</Value>`, decimalValue('12.50')],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:decimal">12.5</Value>`, 12.5],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:long">9223372036854775807</Value>`, 9223372036854775807n],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:long">-9223372036854775808</Value>`, -9223372036854775808n],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:double">1e309</Value>`, Infinity],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:double">NaN</Value>`, NaN],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:boolean">true</Value>`, true],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:string"> spaced </Value>`, ' spaced '],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:string"></Value>`, ''],
      [`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:dateTime">2024-02-29T12:00:00</Value>`,
        new Date(Date.UTC(2024, 1, 29, 12))],
      [`<Value xmlns:q="${ARRAYS}" i:type="q:ArrayOfstring"><q:string>a</q:string><q:string>b</q:string></Value>`, ['a', 'b']],
      [`<Value xmlns:q="${ARRAYS}" i:type="q:ArrayOfstring"><q:string>only</q:string></Value>`, ['only']],
      [`<Value xmlns:q="${ARRAYS}" i:type="q:ArrayOfstring"/>`, []],
      ['<Value>untyped 42</Value>', 'untyped 42'],
      ['<Value i:nil="true"/>', null],
    ];
    for (const [xml, expected] of cases) {
      const b = body('SignalEvent', monoEnvelope(
        `<SignalEvent xmlns="${TNS}"><EventName>e</EventName><Data xmlns:i="${XSI}">${pair(xml)}</Data></SignalEvent>`));
      assert.deepEqual(b.Data, [{ Key: 'k', Value: expected }], xml);
    }
    const bad = (xml: string) => () => body('SignalEvent', monoEnvelope(
      `<SignalEvent xmlns="${TNS}"><Data xmlns:i="${XSI}">${pair(xml)}</Data></SignalEvent>`));
    inputError(bad(`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:int">12abc</Value>`), 'Data.StringObjectKeyValuePair[0].Value');
    inputError(bad(`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:int">3000000000</Value>`), 'Data.StringObjectKeyValuePair[0].Value');
    inputError(bad(`<Value xmlns:b="http://www.w3.org/2001/XMLSchema" i:type="b:long">9223372036854775808</Value>`), 'Data.StringObjectKeyValuePair[0].Value');
    inputError(bad(`<Value xmlns:t="${TNS}" i:type="t:Webhook"><t:WebhookId>1</t:WebhookId></Value>`), 'Data.StringObjectKeyValuePair[0].Value');
    inputError(bad('<Value><x>1</x></Value>'), 'Data.StringObjectKeyValuePair[0].Value');
  });

  test('unbounded nesting through recursive types is refused, moderate nesting is read', () => {
    const nest = (n: number) => '<ErrorAssociates>' + '<MDOListItem><ChildItems>'.repeat(n) + '</ChildItems></MDOListItem>'.repeat(n) + '</ErrorAssociates>';
    assert.throws(() => body('SaveWebhook', saveWebhook(nest(500))), SoapInputError);
    const w = body('SaveWebhook', saveWebhook(nest(3))).Webhook as { ErrorAssociates: Array<{ ChildItems: unknown[] }> };
    assert.equal(w.ErrorAssociates.length, 1);
    assert.equal(w.ErrorAssociates[0].ChildItems.length, 1);
  });

  test('a wrapper with no content is an empty body', () => {
    assert.deepEqual(body('CreateDefaultWebhook', monoEnvelope(`<CreateDefaultWebhook xmlns="${TNS}"/>`)), {});
    assert.deepEqual(body('GetWebhook', monoEnvelope(`<GetWebhook xmlns="${TNS}"></GetWebhook>`)), {});
  });
});

describe('request headers', () => {
  const headers = (headerXml: string) => {
    const r = read(monoEnvelope(`<GetWebhook xmlns="${TNS}"><WebhookId>1</WebhookId></GetWebhook>`, headerXml));
    if (r.error) throw r.error;
    return r.headers;
  };

  test('found by local name under any prefix; WS-Addressing and unknown headers ignored', () => {
    const r = headers('<ns0:ApplicationToken xmlns:ns0="' + TNS + '">tok</ns0:ApplicationToken>'
      + `<ns1:Credentials xmlns:ns1="${TNS}"><ns1:Ticket>7T:abc</ns1:Ticket></ns1:Credentials>`
      + '<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:x</wsa:Action>'
      + `<ns0:TimeZone xmlns:ns0="${TNS}"><ns0:SoTimeZoneId>27</ns0:SoTimeZoneId><ns0:SoTimeZoneLocationCode>NO</ns0:SoTimeZoneLocationCode></ns0:TimeZone>`);
    assert.deepEqual(r.headers, { applicationToken: 'tok', ticket: '7T:abc', timeZone: { SoTimeZoneId: 27, SoTimeZoneLocationCode: 'NO' } });
    assert.deepEqual(Object.keys(r.values).sort(), ['ApplicationToken', 'Credentials', 'TimeZone']);
  });

  test('absent, nil, or nil-child headers are fine', () => {
    assert.deepEqual(headers('').headers, { applicationToken: null, ticket: null, timeZone: null });
    const r = headers(`<ApplicationToken i:nil="true" xmlns:i="${XSI}" xmlns="${TNS}"/><TimeZone i:nil="true" xmlns:i="${XSI}" xmlns="${TNS}"/>`);
    assert.deepEqual(r.headers, { applicationToken: null, ticket: null, timeZone: null });
    const asmx = headers(`<TimeZone xmlns="${TNS}" xmlns:i="${XSI}"><SoTimeZoneLocationCode i:nil="true"/></TimeZone>`);
    assert.deepEqual(asmx.headers.timeZone, { SoTimeZoneLocationCode: null });
    assert.deepEqual(headers(defaultHeaders('t', 'a')).headers, { applicationToken: 'a', ticket: 't', timeZone: null });
  });

  test('header values are typed (SoTimeZoneId is an int) and checked', () => {
    inputError(() => headers(`<TimeZone xmlns="${TNS}"><SoTimeZoneId>x1</SoTimeZoneId></TimeZone>`), 'TimeZone.SoTimeZoneId');
  });
});

describe('envelope checks', () => {
  const fault = (xml: string, code: string, status = 500) => {
    assert.throws(() => read(xml), (err: unknown) => {
      assert.ok(err instanceof SoapProtocolError, String(err));
      assert.equal(err.faultCode, code);
      assert.equal(err.status, status);
      return true;
    });
  };
  const ok = monoEnvelope(`<GetWebhook xmlns="${TNS}"><WebhookId>1</WebhookId></GetWebhook>`);

  test('DOCTYPE, SOAP 1.2, non-envelope roots, missing or ambiguous bodies, malformed XML', () => {
    fault(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>${ok.replace(/^<\?xml[^>]*>/, '')}`, 'Client');
    fault(`<e:Envelope xmlns:e="${SOAP12}"><e:Body><GetWebhook xmlns="${TNS}"/></e:Body></e:Envelope>`, 'VersionMismatch');
    fault(`<GetWebhook xmlns="${TNS}"/>`, 'VersionMismatch');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Header/></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body/></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetWebhook xmlns="${TNS}"/><DeleteWebhook xmlns="${TNS}"/></s:Body></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetWebhook xmlns="${TNS}"/><GetWebhook xmlns="${TNS}"/></s:Body></s:Envelope>`, 'Client');
    fault(ok.replace('</s:Body>', '</s:Bodyy>'), 'Client');
    fault('', 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body><Unknown xmlns="${TNS}"/></s:Body></s:Envelope>`, 'Client');
    // Issue 18: a Body (or Header, or body element) in a foreign namespace was read as the message.
    fault(`<s:Envelope xmlns:s="${SOAP11}" xmlns:x="urn:foreign"><x:Body><GetWebhook xmlns="${TNS}"><WebhookId>1</WebhookId></GetWebhook></x:Body></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><Body><GetWebhook xmlns="${TNS}"><WebhookId>1</WebhookId></GetWebhook></Body></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}" xmlns:x="urn:foreign"><x:Header/><s:Body><GetWebhook xmlns="${TNS}"/></s:Body></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetWebhook xmlns="urn:foreign"><WebhookId>1</WebhookId></GetWebhook></s:Body></s:Envelope>`, 'Client');
    fault(`<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetWebhook><WebhookId>1</WebhookId></GetWebhook></s:Body></s:Envelope>`, 'Client');
    assert.equal(read(`\uFEFF<?xml version="1.0"?><!-- c --><s:Envelope xmlns:s="${SOAP11}" s:encodingStyle="x"><s:Body><GetWebhook xmlns="${TNS}"/></s:Body></s:Envelope>`).op.name, 'GetWebhook');
  });

  test('multi-ref ids that would reach Object.prototype are refused before parsing', () => {
    for (const attr of ['id="__proto__"', "id='constructor'", 'id="prototype"', 'href="#__proto__"', 'href="#toString"',
      'id="hasOwnProperty"', 'id="&#95;_proto__"', 'id = "__proto__"']) {
      fault(ok.replace('<WebhookId>', `<WebhookId ${attr}>`), 'Client');
    }
    assert.equal(({} as Record<string, unknown>).obj, undefined);
    // ordinary ids pass
    assert.equal(read(ok.replace('<WebhookId>', '<WebhookId id="ref1">')).op.name, 'GetWebhook');
  });
});

describe('round trip: what the serializer writes, the parser reads back', () => {
  test('arbitrary strings and values survive (minus XML-illegal characters)', () => {
    // eslint-disable-next-line no-control-regex -- dropping XML-illegal control characters is what is tested
    const legal = (s: string) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    fc.assert(fc.property(
      fc.string({ unit: 'binary' }),
      // at least one: an empty collection and a nil one both reach node-soap's output as null (documented)
      fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: -2147483648, max: 2147483647 }),
      fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null)),
      fc.date({ min: new Date(minTime()), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }),
      (name, events, id, value, when) => {
        const webhook = { WebhookId: id, Name: name, Events: events, Properties: [{ Key: name, Value: value }], Registered: when };
        const xml = `<s:Envelope xmlns:s="${SOAP11}"><s:Body>${serializer.writeElement('SaveWebhook', { Webhook: webhook })}</s:Body></s:Envelope>`;
        const b = body('SaveWebhook', xml);
        // strings come back as written, whitespace-only ones included (node-soap read those as '')
        const expectedValue = typeof value === 'string' ? legal(value) : Object.is(value, -0) ? 0 : value;
        assert.deepEqual(b, {
          Webhook: {
            WebhookId: id, Name: legal(name), Events: events.map(legal),
            Properties: [{ Key: legal(name), Value: expectedValue }], Registered: when,
          },
        });
      },
    ), { numRuns: 300 });
  });
});

function minTime(): number {
  const d = new Date(0);
  d.setUTCFullYear(1, 0, 1);
  return d.getTime();
}

describe('limits and early stops', () => {
  const small = () => createRequestReader(contract, { maxElements: 20, maxDepth: 12 });
  const pick = (name: string) => [...contract.operations.values()].find((x) => x.input.name === name)!;

  test('too many elements: an input error naming the list in the body, a fault elsewhere', () => {
    const events = `<Events xmlns:a="${ARRAYS}">${'<a:string>e</a:string>'.repeat(30)}</Events>`;
    const r = small().read(saveWebhook(events), null, pick);
    assert.ok(r.error instanceof SoapInputError);
    assert.match(r.error.message, /more than 20 elements; refused in Webhook\.Events/);
    const header = `<x:Noise xmlns:x="urn:x">${'<x:n/>'.repeat(30)}</x:Noise>`;
    assert.throws(() => small().read(monoEnvelope(`<GetWebhook xmlns="${TNS}"/>`, header), null, pick),
      (e: unknown) => e instanceof SoapProtocolError && /more than 20 elements/.test(e.message));
  });

  test('nesting deeper than maxDepth anywhere is a fault', () => {
    const deep = `<x:a xmlns:x="urn:x">${'<x:a>'.repeat(15)}${'</x:a>'.repeat(15)}</x:a>`;
    assert.throws(() => small().read(monoEnvelope(`<GetWebhook xmlns="${TNS}"/>`, deep), null, pick),
      (e: unknown) => e instanceof SoapProtocolError && /nests elements more than 12 deep/.test(e.message));
  });

  test('the first element the contract does not allow ends the read: what follows is not looked at', () => {
    const r = read(monoEnvelope(`<GetAllWebhooks xmlns="${TNS}"><NameFilter>${'<z/>'.repeat(5)}</NameFilter><Broken></GetAllWebhooks>`));
    assert.ok(r.error instanceof SoapInputError);
    assert.equal(r.error.field, 'NameFilter');
    assert.match(r.error.message, /expected a simple value, found element z/);
    const unknown = read(monoEnvelope(`<GetWebhook xmlns="${TNS}"><Nope/><WebhookId>1</WebhookId></GetWebhook>`));
    assert.equal(unknown.error?.field, 'Nope');
    assert.match(unknown.error?.message ?? '', /contract does not allow/);
  });
});
