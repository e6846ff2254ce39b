/**
 * Wildcard subscriptions on real SQLite and PostgreSQL: SignalEvent (outbox/enqueue-signalled.ts) delivers to
 * `contact.*` and `*` hooks once each, state events reach `webhook{id}.*` and never `*`, and GetAllWebhooks'
 * EventFilter (listWebhooks) returns the hooks that receive the filtered event. The SQL Server form is checked as
 * text in test/unit/mssql-store-sql.test.ts.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueSignalledEvent } from '../../src/outbox/enqueue-signalled.js';
import { listWebhooks } from '../../src/store/webhook-repository.js';
import { fireStateEvent } from '../../src/outbox/state-event.js';
import { createSecretCodec } from '../../src/store/secret-codec.js';
import { createHook } from './delivery-support.js';

const secrets = { secrets: createSecretCodec() };
const signal = (db: TestDatabase, eventName: string) => enqueueSignalledEvent(db, {
  eventName, primaryKey: 1, data: {}, changedByAssociateId: 0, timestamp: new Date(),
});
const sorted = (ids: readonly number[] | undefined) => [...(ids ?? [])].sort((x, y) => x - y);

for (const dialect of testDialects) {
  describe(`wildcard subscriptions on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    const id: Record<string, number> = {};

    before(async () => {
      db = await freshDatabase(dialect);
      id.exact = await createHook(db, { name: 'exact', targetUrl: 'https://a.example/', events: ['contact.created'] });
      id.contact = await createHook(db, { name: 'contact', targetUrl: 'https://b.example/', events: ['contact.*'] });
      // Subscribed twice over (exact and wildcard): still one delivery.
      id.both = await createHook(db, { name: 'both', targetUrl: 'https://c.example/', events: ['contact.created', 'contact.*', '*'] });
      id.all = await createHook(db, { name: 'all', targetUrl: 'https://d.example/', events: ['*'] });
      id.list = await createHook(db, { name: 'list', targetUrl: 'https://e.example/', events: ['list.*'] });
      id.stopped = await createHook(db, { name: 'stopped', targetUrl: 'https://f.example/', events: ['*'], state: 'Stopped' });
      id.state = await createHook(db, { name: 'state', targetUrl: 'https://g.example/', events: [`webhook${id.exact}.*`] });
    });
    after(async () => db.drop());
    beforeEach(async () => {
      for (const t of ['wa_attempt', 'wa_delivery', 'wa_event']) await db.knex(t).delete();
    });

    test('SignalEvent delivers to exact, entity.* and * subscribers, once each, Active only', async () => {
      const r = await signal(db, 'contact.created');
      assert.deepEqual(sorted(r.webhookIds), sorted([id.exact, id.contact, id.both, id.all]));
      assert.equal(r.deliveries, 4);
      assert.equal(Number((await db.knex('wa_delivery').count({ n: '*' }))[0].n), 4);
      assert.deepEqual(sorted((await signal(db, 'contact.deleted')).webhookIds), sorted([id.contact, id.both, id.all]));
      assert.deepEqual(sorted((await signal(db, 'list.category.created')).webhookIds), sorted([id.list, id.both, id.all]));
      assert.deepEqual(sorted((await signal(db, 'contacts.created')).webhookIds), sorted([id.both, id.all]), 'contact.* is not a string prefix');
    });

    test('state events reach webhook{id}.* subscribers and never *', async () => {
      const r = await fireStateEvent(db.knex, id.exact, 'stopped');
      const rows = (await db.knex('wa_delivery').select('webhook_id')) as Array<{ webhook_id: unknown }>;
      assert.deepEqual(rows.map((x) => Number(x.webhook_id)), [id.state]);
      assert.equal(r.deliveries, 1);
      assert.equal((await fireStateEvent(db.knex, id.contact, 'errors')).deliveries, 0, 'no * hook gets another hook\'s state event');
      // A caller signalling a name of that form is treated the same way.
      assert.deepEqual((await signal(db, `webhook${id.exact}.started`)).webhookIds, [id.state]);
    });

    test('EventFilter: the hooks that receive that event, wildcards included', async () => {
      const names = async (event: string) => (await listWebhooks(db.knex, { event }, secrets)).map((h) => h.name);
      // Every state, as NetServer's EventFilter (StatusFilter narrows).
      assert.deepEqual(await names('contact.created'), ['exact', 'contact', 'both', 'all', 'stopped']);
      assert.deepEqual(await names('contact.*'), ['contact', 'both', 'all', 'stopped'], 'a wildcard filter: hooks that get every contact event');
      assert.deepEqual(await names('*'), ['both', 'all', 'stopped']);
      assert.deepEqual(await names(`webhook${id.exact}.stopped`), ['state']);
      assert.deepEqual((await listWebhooks(db.knex, { event: '*', state: 'Stopped' }, secrets)).map((h) => h.name), ['stopped']);
      // Events come back as saved, wildcards as written.
      const [both] = await listWebhooks(db.knex, { name: 'both' }, secrets);
      assert.deepEqual(both.events, ['contact.created', 'contact.*', '*']);
    });
  });
}
