import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pythonSignature } from '../helpers/python-signature.js';
import { requires } from '../helpers/requires.js';
import { buildPayload, formatNetTimestamp, payloadBytes, standardKeys, type PayloadInput } from '../../src/outbox/send/payload.js';
import { signBody } from '../../src/outbox/send/signature.js';
import { requestHeaders, type DeliveryJob } from '../../src/outbox/send/sender.js';

const python3Req = await requires('python3');

const base: PayloadInput = {
  eventUuid: '8337ae4a-1dd6-40fd-8dc7-a050664a0af7',
  eventName: 'contact.changed',
  primaryKey: 994863,
  data: { contact_id: 994863, name: 'Acme', updated: new Date(Date.UTC(2025, 4, 14, 8, 48, 7, 891)) },
  changedByAssociateId: 316,
  timestamp: new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 681)),
  webhookName: 'Name you provided',
  contextIdentifier: 'Cust1234',
};

describe('payload', () => {
  test('keys in NetServer order, Changes = data keys, Entity = text before the first dot', () => {
    const body = buildPayload(base);
    assert.deepEqual(Object.keys(body), [...standardKeys]);
    assert.deepEqual(body.Changes, ['contact_id', 'name', 'updated']);
    assert.equal(body.Entity, 'contact');
    assert.equal(body.Event, 'contact.changed');
    assert.equal(body.PrimaryKey, 994863);
    assert.equal(body.ContextIdentifier, 'Cust1234');
    assert.equal(body.ChangedByAssociateId, 316);
    assert.equal(body.WebhookName, 'Name you provided');
    assert.deepEqual(body.FieldValues, { contact_id: 994863, name: 'Acme', updated: '2025-05-14T08:48:07.891Z' });
  });

  test('the exact bytes are compact JSON', () => {
    const bytes = payloadBytes({ ...base, data: { a: 1 } }).toString('utf8');
    assert.equal(bytes,
      '{"EventId":"8337ae4a-1dd6-40fd-8dc7-a050664a0af7","Timestamp":"2018-04-24T07:50:50.681Z","Changes":["a"],' +
      '"Event":"contact.changed","PrimaryKey":994863,"Entity":"contact","ContextIdentifier":"Cust1234",' +
      '"ChangedByAssociateId":316,"WebhookName":"Name you provided","FieldValues":{"a":1}}');
  });

  test('Timestamp: UTC, trailing zeros of the fraction dropped, no dot for whole seconds', () => {
    assert.equal(formatNetTimestamp(new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 681))), '2018-04-24T07:50:50.681Z');
    assert.equal(formatNetTimestamp(new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 680))), '2018-04-24T07:50:50.68Z');
    assert.equal(formatNetTimestamp(new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 5))), '2018-04-24T07:50:50.005Z');
    assert.equal(formatNetTimestamp(new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 0))), '2018-04-24T07:50:50Z');
  });

  test('Properties are added after the standard keys and never replace one (any case)', () => {
    const body = buildPayload({
      ...base,
      properties: { tenant: 'north', eventid: 'forged', Event: 'forged', WEBHOOKNAME: 'forged', when: new Date(Date.UTC(2020, 1, 2)) },
    });
    assert.deepEqual(Object.keys(body), [...standardKeys, 'tenant', 'when']);
    assert.equal(body.EventId, base.eventUuid);
    assert.equal(body.Event, 'contact.changed');
    assert.equal(body.tenant, 'north');
    assert.equal(body.when, '2020-02-02T00:00:00Z');
  });

  test('a property named __proto__ stays a plain key', () => {
    const props = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const body = buildPayload({ ...base, properties: props });
    assert.equal(Object.getPrototypeOf(body), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.match(JSON.stringify(body), /"__proto__":\{"polluted":true\},"x":1\}$/);
  });

  test('test event: Changes [], Event/Entity "test", PrimaryKey 0, no FieldValues (reference/test-event.mdx)', () => {
    const body = buildPayload({ ...base, eventName: 'test', primaryKey: 77, data: { a: 1 } });
    assert.deepEqual(Object.keys(body), ['EventId', 'Timestamp', 'Changes', 'Event', 'PrimaryKey', 'Entity', 'ContextIdentifier',
      'ChangedByAssociateId', 'WebhookName']);
    assert.deepEqual(body.Changes, []);
    assert.equal(body.Event, 'test');
    assert.equal(body.Entity, 'test');
    assert.equal(body.PrimaryKey, 0);
  });

  test('state event: body Event is webhook.<verb>, no Entity, Changes [] (reference/state-events.md)', () => {
    const body = buildPayload({ ...base, eventName: 'webhook66.errors', primaryKey: 66, data: { state: 3 } });
    assert.equal(body.Event, 'webhook.errors');
    assert.equal('Entity' in body, false);
    assert.deepEqual(body.Changes, []);
    assert.equal(body.PrimaryKey, 66);
    assert.deepEqual(body.FieldValues, { state: 3 });
  });
});

describe('signature', () => {
  test('base64(HMAC-SHA256(UTF-8 secret, body bytes)) equals an independent implementation (python3)', python3Req, () => {
    const secret = 'sëcret-🔑-key';
    const body = payloadBytes({ ...base, webhookName: 'Ærlig navn ✓' });
    const expected = pythonSignature(secret, body);
    assert.equal(signBody(secret, body), expected);
    assert.match(expected, /^[A-Za-z0-9+/]{43}=$/);
  });
});

describe('request headers', () => {
  const job: DeliveryJob = {
    hook: { name: 'h', targetUrl: 'https://example.com/', secret: 'k', headers: null, properties: null },
    eventUuid: 'e1', attemptNo: 3, eventName: 'contact.created', primaryKey: 1, data: {}, changedByAssociateId: 0, timestamp: new Date(0),
  };
  const body = Buffer.from('{}');

  test('order and values; Retry counts the retries before this attempt', () => {
    assert.deepEqual(Object.entries(requestHeaders(job, body, 'UA/1')), [
      ['Content-Type', 'application/json; charset=utf-8'],
      ['User-Agent', 'UA/1'],
      ['X-SuperOffice-Event', 'contact.created'],
      ['X-SuperOffice-EventId', 'e1'],
      ['X-SuperOffice-Retry', '2'],
      ['X-SuperOffice-Signature', signBody('k', body)],
    ]);
  });

  test('no signature without a secret; X-Hook-Test only on the test event', () => {
    const h = requestHeaders({ ...job, hook: { ...job.hook, secret: null } }, body, 'UA');
    assert.equal('X-SuperOffice-Signature' in h, false);
    assert.equal('X-Hook-Test' in h, false);
    const t = requestHeaders({ ...job, eventName: 'test' }, body, 'UA');
    assert.equal(t['X-Hook-Test'], 'true');
  });

  test("the hook's headers are added but cannot replace ours or the transport's", () => {
    const h = requestHeaders({
      ...job,
      hook: {
        ...job.hook,
        headers: {
          Authorization: 'Bearer t', 'x-superoffice-signature': 'forged', 'X-SuperOffice-Whatever': 'x', 'content-type': 'text/plain',
          Host: 'evil', 'Content-Length': '1', 'X-Hook-Test': 'true', 'X-Bad': 'a\r\nInjected: 1', 'Bad Name': 'v', 'X-Ok': 'fine',
        },
      },
    }, body, 'UA');
    assert.deepEqual(Object.keys(h).slice(6), ['Authorization', 'X-Ok']);
    assert.equal(h['X-SuperOffice-Signature'], signBody('k', body));
    assert.equal(h['Content-Type'], 'application/json; charset=utf-8');
  });
});
