/**
 * What differs between the Services85/86/87/88 Webhook endpoints (notes/netserver-contract.md section 7): the
 * Webhook carrier ends at UpdatedAssociate before 88 (ErrorsEmail..LastError are 88-only); Associate has no
 * UserName in 85, and ExtraFields/CustomFields only in 88. The same stored hook is read through every version and
 * the exact child sequence of each carrier is compared.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import {
  child, startApp, startReceiver, textAt, webhookXml, type Receiver, type SoapResult, type TestApp, type XNode,
} from '../helpers/app.js';

const webhook85 = ['WebhookId', 'Name', 'Events', 'TargetUrl', 'Secret', 'State', 'Type', 'Headers', 'Properties', 'Registered',
  'RegisteredAssociate', 'Updated', 'UpdatedAssociate'];
const only88 = ['ErrorsEmail', 'ErrorEmails', 'ErrorAssociates', 'Description', 'NotifyVia', 'NotifyWhen', 'TotalCalls', 'TotalErrors',
  'ConsecutiveErrors', 'LastError'];
const associate85 = ['TableRight', 'FieldProperties', 'AssociateId', 'Name', 'PersonId', 'Rank', 'Tooltip', 'Type', 'GroupIdx', 'FullName',
  'FormalName', 'Deleted', 'EjUserId'];

const expectedWebhook = (v: number) => (v === 88 ? [...webhook85, ...only88] : webhook85);
const expectedAssociate = (v: number) =>
  (v === 85 ? associate85 : v === 88 ? [...associate85, 'UserName', 'ExtraFields', 'CustomFields'] : [...associate85, 'UserName']);

const names = (n: XNode | null) => (n ? n.children.map((c) => c.name) : null);

function assertOk(r: SoapResult, what: string): void {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
  assert.equal(r.succeeded, true, `${what}: ${r.exception?.message ?? r.text.slice(0, 600)}`);
}

for (const dialect of testDialects) {
  describe(`Services85..88 version differences (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let receiver: Receiver;
    let id = 0;
    // Saved through every version in turn; `id` is only read, so its 88-only values stay put.
    let scratch = 0;

    before(async () => {
      app = await startApp(dialect);
      receiver = await startReceiver(200);
      const created = await app.call(88, 'SaveWebhook', webhookXml({
        id: 0, name: 'versions', events: ['contact.created'], targetUrl: receiver.url,
        tail: '<Properties i:nil="true"/><ErrorsEmail>ops@example.com</ErrorsEmail><Description>what it does</Description>',
      }));
      assertOk(created, 'create');
      id = Number(textAt(created.response, 'WebhookId'));
      // An update, so that UpdatedAssociate is an Associate rather than nil.
      const updated = await app.call(88, 'SaveWebhook', webhookXml({
        id, name: 'versions', events: ['contact.created'], targetUrl: receiver.url,
        tail: '<Properties i:nil="true"/><ErrorsEmail>ops@example.com</ErrorsEmail><Description>what it does</Description>',
      }));
      assertOk(updated, 'update');
      const other = await app.call(88, 'SaveWebhook', webhookXml({ id: 0, name: 'scratch', events: ['sale.changed'], targetUrl: receiver.url }));
      assertOk(other, 'create scratch');
      scratch = Number(textAt(other.response, 'WebhookId'));
    });
    after(async () => {
      await receiver?.close();
      await app?.close();
    });

    for (const v of [85, 86, 87, 88]) {
      test(`Services${v}: carrier members`, async () => {
        const get = await app.call(v, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
        assertOk(get, 'GetWebhook');
        assert.deepEqual(names(get.response), expectedWebhook(v));
        assert.deepEqual(names(child(get.response, 'RegisteredAssociate')), expectedAssociate(v));
        assert.deepEqual(names(child(get.response, 'UpdatedAssociate')), expectedAssociate(v));
        assert.equal(textAt(get.response, 'RegisteredAssociate', 'UserName'), v === 85 ? undefined : 'admin');

        const all = await app.call(v, 'GetAllWebhooks', '');
        assertOk(all, 'GetAllWebhooks');
        assert.deepEqual(names(all.response), ['Webhook', 'Webhook']);
        for (const w of all.response!.children) assert.deepEqual(names(w), expectedWebhook(v));

        const dflt = await app.call(v, 'CreateDefaultWebhook', '');
        assertOk(dflt, 'CreateDefaultWebhook');
        assert.deepEqual(names(dflt.response), expectedWebhook(v));

        const saved = await app.call(v, 'SaveWebhook', webhookXml({ id: scratch, name: 'scratch', events: ['sale.changed'], targetUrl: receiver.url }));
        assertOk(saved, 'SaveWebhook');
        assert.deepEqual(names(saved.response), expectedWebhook(v));
        assert.deepEqual(names(child(saved.response, 'UpdatedAssociate')), expectedAssociate(v));

        if (v === 88) {
          assert.equal(textAt(get.response, 'ErrorsEmail'), 'ops@example.com');
          assert.equal(textAt(get.response, 'Description'), 'what it does');
          assert.equal(textAt(get.response, 'TotalCalls'), '0');
          assert.equal(textAt(get.response, 'LastError'), null);
        } else {
          for (const r of [get, all, dflt, saved]) {
            for (const n of [...only88, 'ExtraFields', 'CustomFields', ...(v === 85 ? ['UserName'] : [])]) {
              assert.doesNotMatch(r.text, new RegExp(`<(\\w+:)?${n}[\\s/>]`), `Services${v} answer contains <${n}>`);
            }
          }
        }
      });
    }

    // NetServer's behaviour is not documented; our rule: on update an omitted element keeps its stored value,
    // so an 85-87 client cannot wipe members it cannot see.
    test('a Services85 save keeps the 88-only members it cannot see', async () => {
      // An 85 client cannot send ErrorsEmail/Description; its save need not be read as "clear them".
      const saved = await app.call(85, 'SaveWebhook', webhookXml({ id, name: 'versions', events: ['contact.created'], targetUrl: receiver.url }));
      assertOk(saved, 'SaveWebhook 85');
      const get = await app.call(88, 'GetWebhook', `<WebhookId>${id}</WebhookId>`);
      assertOk(get, 'GetWebhook 88');
      assert.equal(textAt(get.response, 'ErrorsEmail'), 'ops@example.com');
      assert.equal(textAt(get.response, 'Description'), 'what it does');
    });
  });
}
