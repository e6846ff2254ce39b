/**
 * `import netserver` reports everything it leaves out or changes (issue 17 item 8, issue 18 item 5), on SQLite and
 * PostgreSQL sources built here: webhook_usage and webhook_notify rows for webhook ids the source does not have,
 * notify rows naming neither an associate nor an e-mail address, event names that differ from NetServer's documented
 * ones only in case, header values that are not strings, Properties nested deeper than the reader goes. What it
 * keeps: nested Properties as their JSON text (every digit), the associate's UserName from `userName` and a FullName
 * with the middle name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, textAt, type TestApp } from '../helpers/app.js';
import {
  importInto, netServerFixture, sourceNotifyRow, sourceUsageRow, sourceWebhookRow, type NetServerFixture, type NetServerRows,
} from '../helpers/netserver-fixture.js';
import { formatImportReport, type ImportOptions } from '../../src/agent/netserver-import.js';

const V = 88;
// Key order not alphabetical, an integer beyond 2^53 and a decimal with a trailing zero: a rewrite of the text shows.
const NESTED = '{"z":{"y":[1,"two",{"x":null,"w":true}],"v":{}},"big":12345678901234567890,"dec":1.10}';
const TOO_DEEP = `{"k":${'['.repeat(5000)}${']'.repeat(5000)}}`;

const rows = (): NetServerRows => ({
  webhook: [
    sourceWebhookRow(1, { events: 'Sale.Changed,contact.created,Webhook1.Stopped', properties: NESTED, headers: '{"X-N":5,"X-S":"s","X-Null":null}',
      registered_associate_id: 5, updated_associate_id: 6 }),
    sourceWebhookRow(2),
    sourceWebhookRow(3, { properties: TOO_DEEP }),
  ],
  webhook_usage: [sourceUsageRow(1), sourceUsageRow(2), sourceUsageRow(998), sourceUsageRow(999)],
  webhook_notify: [
    sourceNotifyRow(1, 5, null),
    sourceNotifyRow(1, null, 'ops@example.com'),
    sourceNotifyRow(1, 0, null),
    sourceNotifyRow(2, null, '  '),
    sourceNotifyRow(999, 5, null),
    sourceNotifyRow(998, null, 'x@example.com'),
  ],
  associate: [
    { associate_id: 5, name: 'SAL', person_id: 12, deleted: 0, type: 1, userName: 'sally.salesman' },
    { associate_id: 6, name: 'NOP', person_id: 13, deleted: 0, type: 1, userName: null },
  ],
  person: [
    { person_id: 12, firstname: 'Sally', middleName: 'Anne', lastname: 'Salesman' },
    { person_id: 13, firstname: 'Nils', middleName: null, lastname: 'Olav' },
  ],
});

for (const dialect of testDialects) {
  describe(`import netserver: what it leaves out or changes (${dialect})`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let fixture: NetServerFixture;
    const run = (opts: ImportOptions) => importInto(app, fixture, opts);

    before(async () => {
      fixture = await netServerFixture(dialect, undefined, rows());
      app = await startApp(dialect);
    });
    after(async () => {
      await app?.close();
      await fixture?.drop();
    });

    test('the report counts every source row and names each one left out or changed', async () => {
      const o = await run({ dryRun: true, skipInvalid: true });
      const text = formatImportReport(o, { dryRun: true, skipInvalid: true, source: 'x', schema: 'crm7' });
      assert.match(text, /usage rows: 4 in NetServer, 2 to import, 2 left out; notify rows: 6 in NetServer, 2 to import, 4 left out/);
      assert.match(text, /2 webhook_usage rows name webhook ids the webhook table does not have, left out: webhook_usage_id 998, 999/);
      assert.match(text, /2 webhook_notify rows name webhook ids the webhook table does not have, left out: webhook_notify_id 6 \(webhook_id 998\), 5 \(webhook_id 999\)/);
      assert.match(text, /webhook 1: webhook_notify rows 3 name neither an associate nor an e-mail address: left out/);
      assert.match(text, /webhook 2: webhook_notify rows 4 name neither an associate nor an e-mail address: left out/);
      assert.match(text, /webhook 1: Events: 'Sale\.Changed' differs from NetServer's documented event 'sale\.changed' only in case/);
      assert.match(text, /webhook 1: Events: 'Webhook1\.Stopped' differs from NetServer's documented event 'webhook1\.stopped' only in case/);
      assert.doesNotMatch(text, /'contact\.created' differs/);
      assert.match(text, /webhook 1: Headers: the values of 'X-N', 'X-Null' are not strings/);
      // Dropped without a word before: our reader cannot read it, so it would have been read back as no Properties.
      assert.match(text, /webhook 3: Properties: the stored value is not readable JSON \(nested too deep\)/);
      assert.deepEqual(o.plan.invalidWebhookIds, [3]);
    });

    test('nested Properties keep their JSON text; UserName from userName, FullName with the middle name', async () => {
      const o = await run({ dryRun: false, skipInvalid: true });
      assert.equal(o.refused, false);
      assert.deepEqual([o.written?.usageRows, o.written?.notifyRows], [2, 2]);
      const [row] = (await app.db.knex('webhook').where('webhook_id', 1).select('properties')) as Array<{ properties: string }>;
      assert.equal(row.properties, NESTED);

      const r = await app.call(V, 'GetWebhook', '<WebhookId>1</WebhookId>');
      assert.equal(r.succeeded, true, r.text.slice(0, 500));
      const h = r.response!;
      assert.equal(textAt(h, 'RegisteredAssociate', 'Name'), 'SAL');
      assert.equal(textAt(h, 'RegisteredAssociate', 'UserName'), 'sally.salesman');
      assert.equal(textAt(h, 'RegisteredAssociate', 'FullName'), 'Sally Anne Salesman');
      // No userName in NetServer: UserName reads as the login name.
      assert.equal(textAt(h, 'UpdatedAssociate', 'UserName'), 'NOP');
      assert.equal(textAt(h, 'UpdatedAssociate', 'FullName'), 'Nils Olav');
    });
  });
}
