/**
 * Properties and SignalEvent Data values that are JSON objects or arrays (C#'s `object` in NetServer's Swagger), on
 * SQLite and PostgreSQL: accepted by both JSON faces, stored and read back as sent (nested, key order kept),
 * delivered as sent in the body, written by SOAP as their JSON text in an xs:string (the WSDL has no type for them),
 * and refused with the member named when nested deeper than the limit. Also `$select` on the RESTful list.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { child, childrenNamed, startApp, startReceiver, TEST_ADMIN, TEST_ADMIN_PASSWORD, textAt, type Receiver, type TestApp } from '../helpers/app.js';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { basic, jsonClient, until, type JsonClient } from './support.js';

// Key order deliberately not alphabetical, so that a reordering (jsonb, a sorted writer) shows.
const nested = { z: { y: [1, 'two', { x: null, w: true }], v: {} }, a: [[]], m: 1.25 };
const properties = { first: 'plain', deep: nested, list: [3, 2, 1] };
const data = { amount: 10, lines: [{ sku: 'B-2', qty: 1 }, { sku: 'A-1', qty: 3 }], meta: { source: 'crm', tags: ['x'] } };

function deeper(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

for (const dialect of testDialects) {
  describe(`nested Properties and Data values (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let rx: Receiver;
    let api: JsonClient;

    before(async () => {
      app = await startApp(dialect, { startWorker: true });
      rx = await startReceiver(200);
      api = jsonClient(app.baseUrl, basic(TEST_ADMIN, TEST_ADMIN_PASSWORD));
    });
    after(async () => {
      await rx?.close();
      await app?.close();
    });

    test('stored and read back as sent on both JSON faces, and on SOAP as JSON text', async () => {
      const created = await api('POST', '/api/v1/Webhook', { Name: 'nested', Events: ['sale.changed'], TargetUrl: rx.url, Properties: properties });
      assert.equal(created.status, 200, created.text);
      const id = created.json.WebhookId as number;
      const expectText = JSON.stringify(properties);
      assert.equal(JSON.stringify(created.json.Properties), expectText, 'the save answers the values as sent, in order');

      const row = await app.db.knex('webhook').where({ webhook_id: id }).first('properties');
      assert.equal(row.properties, expectText, 'stored as the JSON text sent');

      const rest = await api('GET', `/api/v1/Webhook/${id}`);
      assert.equal(JSON.stringify(rest.json.Properties), expectText, 'RESTful GET');
      const agents = await api('POST', `/api/v1/Agents/Webhook/GetWebhook?webhookId=${id}`);
      assert.equal(JSON.stringify(agents.json.Properties), expectText, 'Agents GetWebhook');
      const listed = await api('POST', '/api/v1/Agents/Webhook/GetAllWebhooks', { NameFilter: 'nested' });
      assert.equal(JSON.stringify(listed.json[0].Properties), expectText, 'Agents GetAllWebhooks');

      // An update through the Agents face with what it read keeps the values.
      const saved = await api('POST', '/api/v1/Agents/Webhook/SaveWebhook', { ...agents.json, Description: 'touched' });
      assert.equal(saved.status, 200, saved.text);
      assert.equal((await app.db.knex('webhook').where({ webhook_id: id }).first('properties')).properties, expectText);

      const soap = await app.call(88, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
      const pairs = childrenNamed(child(soap.response, 'Properties'), 'StringObjectKeyValuePair');
      assert.deepEqual(pairs.map((p) => textAt(p, 'Key')), ['first', 'deep', 'list']);
      assert.equal(textAt(pairs[0], 'Value'), 'plain');
      assert.equal(textAt(pairs[1], 'Value'), JSON.stringify(nested), 'a nested object is its JSON text on SOAP');
      assert.equal(textAt(pairs[2], 'Value'), '[3,2,1]', 'an array of numbers is its JSON text on SOAP');
      assert.match(soap.text, /<Value i:type="b:string">\{"z":/);
      await api('DELETE', `/api/v1/Webhook/${id}`);
    });

    test('delivered in the body as sent: nested Data in FieldValues, nested Properties as top-level keys', async () => {
      const created = await api('POST', '/api/v1/Webhook', { Name: 'nested delivery', Events: ['order.changed'], TargetUrl: rx.url, Properties: properties });
      assert.equal(created.status, 200, created.text);
      for (const [face, send] of [
        ['RESTful', () => api('POST', '/api/v1/Webhook/order.changed/7', data)],
        ['Agents', () => api('POST', '/api/v1/Agents/Webhook/SignalEvent', { EventName: 'order.changed', PrimaryKey: 8, Data: data })],
      ] as const) {
        const before = rx.requests.length;
        const r = await send();
        assert.equal(r.status, 204, `${face}: ${r.text}`);
        const got = await until(`${face} delivery`, () => rx.requests.slice(before).find((q) => q.headers['x-superoffice-event'] === 'order.changed'));
        const body = got.body.toString('utf8');
        assert.ok(body.includes(`"Changes":["amount","lines","meta"]`), body);
        assert.ok(body.includes(`"FieldValues":${JSON.stringify(data)}`), `${face}: FieldValues as sent: ${body}`);
        assert.ok(body.endsWith(`,"first":"plain","deep":${JSON.stringify(nested)},"list":[3,2,1]}`), `${face}: Properties as sent: ${body}`);
      }
    });

    test('a value nested deeper than 32 levels is refused naming the member; 32 are accepted', async () => {
      const base = { Name: 'depth', Events: ['a.b'], TargetUrl: rx.url };
      const tooDeep = await api('POST', '/api/v1/Webhook', { ...base, Properties: { k: deeper(33) } });
      assert.equal(tooDeep.status, 400, tooDeep.text);
      assert.equal(tooDeep.json.ErrorField, 'Properties');
      assert.match(tooDeep.json.ErrorMessage, /nested more than 32 levels/);
      const data33 = await api('POST', '/api/v1/Agents/Webhook/SignalEvent', { EventName: 'a.b', PrimaryKey: 1, Data: { k: deeper(33) } });
      assert.equal(data33.status, 400, data33.text);
      assert.equal(data33.json.ErrorField, 'Data');
      const ok = await api('POST', '/api/v1/Webhook', { ...base, Properties: { k: deeper(32) } });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json.Properties, { k: deeper(32) });
      await api('DELETE', `/api/v1/Webhook/${ok.json.WebhookId}`);
    });

    test('$select applies to GET /api/v1/Webhook as to /Webhook/{id} and the Agents face', async () => {
      const created = await api('POST', '/api/v1/Webhook', { Name: 'selected', Events: ['a.b'], TargetUrl: rx.url, Secret: 'top-secret' });
      assert.equal(created.status, 200, created.text);
      const list = await api('GET', '/api/v1/Webhook?nameFilter=selected&$select=Name,TargetUrl');
      assert.equal(list.status, 200, list.text);
      assert.equal(list.json.length, 1);
      assert.equal(list.json[0].Name, 'selected');
      assert.equal(list.json[0].TargetUrl, rx.url);
      assert.equal(list.json[0].Secret, null, 'the Secret is not returned');
      assert.equal(list.json[0].WebhookId, null);
      const all = await api('GET', '/api/v1/Webhook?nameFilter=selected');
      assert.equal(all.json[0].Secret, 'top-secret', 'without $select every member');
      await api('DELETE', `/api/v1/Webhook/${created.json.WebhookId}`);
    });
  });
}
