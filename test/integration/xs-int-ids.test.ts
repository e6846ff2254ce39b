/**
 * Ids and counters stay inside xs:int (issue 18 item 5), on SQLite and PostgreSQL targets. A SQLite NetServer source
 * (which, unlike NetServer's own columns, holds anything) brings a webhook_id of 2147483648 and other values only
 * the real run used to trip over: the import refuses them per row in the dry run already, and writes the rest. The
 * id sequences hand out no id beyond 2147483647: a SaveWebhook past it is refused with nothing committed, and the
 * lists keep working. A stored row no client can read (left from before) is named, in GetWebhook's error and in the
 * log, and never fails a whole GetAllWebhooks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectAvailability, testDialects } from '../helpers/db.js';
import { startApp, startReceiver, textAt, webhookXml, type Receiver, type TestApp } from '../helpers/app.js';
import {
  importInto, netServerFixture, sourceUsageRow, sourceWebhookRow, type NetServerFixture, type NetServerRows,
} from '../helpers/netserver-fixture.js';
import { formatImportReport } from '../../src/agent/netserver-import.js';
import { createWebhookAgent } from '../../src/agent/webhook-agent.js';
import { secretCodecFor } from '../../src/store/secret-codec.js';

const V = 88;
const TOP = 2147483647;

const rows = (): NetServerRows => ({
  webhook: [
    sourceWebhookRow(TOP + 1),
    sourceWebhookRow(7, { registered_associate_id: 3000000000 }),
    sourceWebhookRow(8, { application_token: 'a'.repeat(300) }),
    sourceWebhookRow(9),
    sourceWebhookRow(TOP),
  ],
  webhook_usage: [sourceUsageRow(9, { last_error: 'x'.repeat(3 * 1024 * 1024) }), sourceUsageRow(TOP, { total_calls: 5 })],
  webhook_notify: [], associate: [], person: [],
});

async function count(app: TestApp): Promise<number> {
  const [r] = (await app.db.knex('webhook').count({ n: '*' })) as Array<{ n: unknown }>;
  return Number(r.n);
}

for (const dialect of testDialects) {
  describe(`xs:int ids (${dialect} target)`, await dialectAvailability(dialect), () => {
    let app: TestApp;
    let fixture: NetServerFixture;
    let rx: Receiver;

    before(async () => {
      fixture = await netServerFixture('sqlite', undefined, rows());
      app = await startApp(dialect);
      rx = await startReceiver(200);
    });
    after(async () => {
      await rx?.close();
      await app?.close();
      await fixture?.drop();
    });

    test('the dry run refuses per row what the real run cannot write; the real run writes the rest', async () => {
      const dry = await importInto(app, fixture, { dryRun: true, skipInvalid: true });
      const text = formatImportReport(dry, { dryRun: true, skipInvalid: true, source: 'x', schema: 'crm7' });
      assert.deepEqual(dry.plan.invalidWebhookIds.sort((a, b) => a - b), [7, 8, TOP + 1]);
      assert.match(text, /webhook 2147483648: webhook_id must be 1\.\.2147483647 \(WebhookId is an xs:int\)/);
      assert.match(text, /webhook 7: registered_associate_id 3000000000: outside the xs:int range/);
      assert.match(text, /webhook 8: application_token is longer than the 200 characters/);
      assert.match(text, /webhook 9: webhook_usage last_error is 3145728 characters: imported cut to the 4000/);

      const real = await importInto(app, fixture, { dryRun: false, skipInvalid: true });
      assert.equal(real.written?.webhooksCreated, 2);
      const [u] = (await app.db.knex('webhook_usage').where('webhook_usage_id', 9).select('last_error')) as Array<{ last_error: string }>;
      assert.equal(u.last_error.length, 4000);
      const list = await app.call(V, 'GetAllWebhooks', '');
      assert.equal(list.succeeded, true, list.text.slice(0, 400));
      assert.deepEqual(list.response!.children.map((w) => textAt(w, 'WebhookId')), ['9', String(TOP)]);
    });

    test('past the last xs:int id, SaveWebhook is refused and nothing is committed', async () => {
      const before = await count(app);
      const saved = await app.call(V, 'SaveWebhook', webhookXml({ id: 0, name: 'one too many', events: ['contact.created'], targetUrl: rx.url }));
      assert.equal(saved.succeeded, false, saved.text.slice(0, 400));
      assert.match(saved.exception?.message ?? '', /No webhook id is left: the next one would be beyond 2147483647/);
      assert.equal(await count(app), before, 'nothing committed');
      const list = await app.call(V, 'GetAllWebhooks', '');
      assert.equal(list.succeeded, true, list.text.slice(0, 400));
      assert.equal(list.response!.children.length, before);
    });
  });
}

describe('a stored row no client can read (sqlite)', () => {
  let app: TestApp;
  let rx: Receiver;
  const logged: string[] = [];
  const at = new Date('2024-01-01T00:00:00Z');
  const row = (id: number, extra: Record<string, unknown> = {}) => ({
    webhook_id: id, name: `h${id}`, events: 'contact.created', target_url: 'https://hooks.example.com/x', type: 'webhook', state: 1,
    registered: at, registered_associate_id: 0, updated_associate_id: 0, updatedCount: 0, notify_via: 0, notify_when: 0, ...extra,
  });

  before(async () => {
    app = await startApp('sqlite');
    rx = await startReceiver(200);
    // As an import before the checks could leave them: written straight into the tables.
    await app.db.knex('webhook').insert([row(1), row(TOP + 1), row(5, { registered_associate_id: 3000000000 })]);
    for (const [id, name] of [[1, 'contact.created'], [TOP + 1, 'contact.created'], [5, 'contact.created']] as const) {
      await app.db.knex('webhook_event').insert({ webhook_id: id, event_name: name, ordinal: 0 });
      await app.db.knex('webhook_usage').insert({ webhook_usage_id: id, registered: at });
    }
  });
  after(async () => {
    await rx?.close();
    await app?.close();
  });

  test('GetAllWebhooks answers the others; the rows left out are logged by id', async () => {
    const list = await app.call(V, 'GetAllWebhooks', '');
    assert.equal(list.succeeded, true, list.text.slice(0, 400));
    assert.deepEqual(list.response!.children.map((w) => textAt(w, 'WebhookId')), ['1']);
    const agent = createWebhookAgent({
      db: app.db, config: app.config, target: app.delivery.target, secrets: secretCodecFor(app.config),
      logger: { warn: () => {}, error: (_o, msg) => logged.push(msg) },
    });
    assert.deepEqual((await agent.listWebhooks({})).map((w) => w.webhookId), [1]);
    assert.equal(logged.length, 2);
    assert.match(logged[0], /^webhook 5 left out of a webhook list: RegisteredAssociate\.AssociateId 3000000000 outside the xs:int range/);
    assert.match(logged[1], /^webhook 2147483648 left out of a webhook list: WebhookId 2147483648 outside the xs:int range/);
  });

  test('GetWebhook names the row; SaveWebhook of it is refused before anything is written', async () => {
    const got = await app.call(V, 'GetWebhook', '<WebhookId>5</WebhookId>');
    assert.equal(got.succeeded, false);
    assert.match(got.exception?.message ?? '', /Webhook 5 cannot be answered: RegisteredAssociate\.AssociateId 3000000000 outside the xs:int range/);
    const saved = await app.call(V, 'SaveWebhook', webhookXml({ id: 5, name: 'renamed', events: ['contact.created'], targetUrl: rx.url }));
    assert.equal(saved.succeeded, false);
    assert.match(saved.exception?.message ?? '', /Webhook 5 cannot be answered/);
    const [r] = (await app.db.knex('webhook').where('webhook_id', 5).select('name', 'updatedCount')) as Array<{ name: string; updatedCount: number }>;
    assert.deepEqual([r.name, Number(r.updatedCount)], ['h5', 0], 'not committed');
    assert.equal(rx.requests.length, 0, 'not pinged either');
  });
});
