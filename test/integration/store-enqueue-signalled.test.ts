/**
 * SignalEvent's write (outbox/enqueue-signalled.ts) on real SQLite and PostgreSQL: who gets a delivery, what is
 * stored, the version 7 EventIds, all-or-nothing, and (PostgreSQL) the NOTIFY sent after the commit.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, dialectAvailability, testDialects, type TestDatabase } from '../helpers/db.js';
import { enqueueSignalledEvent } from '../../src/outbox/enqueue-signalled.js';
import { OUTBOX_CHANNEL, notifiedWebhookIds } from '../../src/outbox/outbox-notify.js';
import { createHook } from './delivery-support.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const event = (primaryKey: number, eventName = 'contact.changed') => ({
  eventName, primaryKey, data: { name: `Company ${primaryKey}`, born: new Date(Date.UTC(1990, 4, 6)) }, changedByAssociateId: 7,
  timestamp: new Date(T0 - 1000),
});

for (const dialect of testDialects) {
  describe(`SignalEvent enqueue on ${dialect}`, await dialectAvailability(dialect), () => {
    let db: TestDatabase;
    let a: number;
    let b: number;

    before(async () => {
      db = await freshDatabase(dialect);
      a = await createHook(db, { targetUrl: 'https://a.example/', events: ['contact.changed', 'sale.created'] });
      await createHook(db, { targetUrl: 'https://stopped.example/', events: ['contact.changed'], state: 'Stopped' });
      b = await createHook(db, { targetUrl: 'https://b.example/', events: ['contact.changed'] });
      await createHook(db, { targetUrl: 'https://other.example/', events: ['person.created'] });
    });
    after(async () => db.drop());
    beforeEach(async () => {
      for (const t of ['wa_attempt', 'wa_delivery', 'wa_event']) await db.knex(t).delete();
    });

    test('one pending delivery per Active subscriber, due at once, with the event as stored JSON', async () => {
      const r = await enqueueSignalledEvent(db, event(42), { now: T0 });
      assert.equal(r.deliveries, 2);
      assert.deepEqual([...(r.webhookIds ?? [])].sort((x, y) => x - y), [a, b]);
      const [ev] = (await db.knex('wa_event').select()) as Array<Record<string, unknown>>;
      assert.equal(Number(ev.event_id), r.eventId);
      assert.deepEqual([ev.name, Number(ev.primary_key), Number(ev.changed_by_associate_id), Number(ev.timestamp), Number(ev.created)],
        ['contact.changed', 42, 7, T0 - 1000, T0]);
      assert.deepEqual(JSON.parse(String(ev.data)), { name: 'Company 42', born: '1990-05-06T00:00:00Z' });
      const rows = (await db.knex('wa_delivery').orderBy('webhook_id').select()) as Array<Record<string, unknown>>;
      assert.deepEqual(rows.map((d) => [Number(d.event_id), Number(d.webhook_id), d.status, Number(d.attempt_count), Number(d.next_attempt_at),
        Number(d.created), Number(d.held), d.lease_token]), [a, b].map((id) => [r.eventId, id, 'pending', 0, T0, T0, 0, null]));
    });

    test('EventIds are distinct version 7 UUIDs carrying the enqueue time', async () => {
      for (let i = 0; i < 20; i++) await enqueueSignalledEvent(db, event(i), { now: T0 + i });
      const ids = ((await db.knex('wa_delivery').orderBy('delivery_id').select('event_uuid', 'created')) as Array<{ event_uuid: string; created: unknown }>);
      assert.equal(ids.length, 40);
      assert.equal(new Set(ids.map((x) => x.event_uuid)).size, 40);
      for (const x of ids) {
        assert.match(x.event_uuid, V7);
        assert.equal(parseInt(x.event_uuid.slice(0, 8) + x.event_uuid.slice(9, 13), 16), Number(x.created));
      }
    });

    test('no Active subscriber: nothing stored', async () => {
      assert.deepEqual(await enqueueSignalledEvent(db, event(1, 'nobody.listens'), { now: T0 }), { eventId: null, deliveries: 0 });
      assert.deepEqual(await enqueueSignalledEvent(db, event(1, 'CONTACT.CHANGED'), { now: T0 }), { eventId: null, deliveries: 0 },
        'event names match exactly, as NetServer matches them');
      assert.equal(Number(((await db.knex('wa_event').count({ n: '*' })) as Array<{ n: unknown }>)[0].n), 0);
    });

    test('all or nothing: a failing delivery insert leaves no event behind', async () => {
      if (dialect === 'sqlite') {
        await db.knex.raw("create trigger t_fail before insert on wa_delivery when new.webhook_id = ? begin select raise(abort, 'refused by test'); end"
          .replace('?', String(b)));
      } else {
        await db.knex.raw(`create function t_fail() returns trigger language plpgsql as $$ begin
          if new.webhook_id = ${b} then raise exception 'refused by test'; end if; return new; end $$`);
        await db.knex.raw('create trigger t_fail before insert on wa_delivery for each row execute function t_fail()');
      }
      try {
        await assert.rejects(enqueueSignalledEvent(db, event(5), { now: T0 }), /refused by test/);
        assert.equal(Number(((await db.knex('wa_event').count({ n: '*' })) as Array<{ n: unknown }>)[0].n), 0);
        assert.equal(Number(((await db.knex('wa_delivery').count({ n: '*' })) as Array<{ n: unknown }>)[0].n), 0);
      } finally {
        await db.knex.raw(dialect === 'sqlite' ? 'drop trigger t_fail' : 'drop trigger t_fail on wa_delivery');
        if (dialect === 'pg') await db.knex.raw('drop function t_fail()');
      }
      assert.equal((await enqueueSignalledEvent(db, event(6), { now: T0 })).deliveries, 2, 'and the next one goes through');
    });

    if (dialect === 'pg') {
      test('PostgreSQL: NOTIFY after the commit, when the rows are visible; concurrent calls fold into fewer', async () => {
        const listener = new pg.Client({ connectionString: db.url });
        await listener.connect();
        try {
          await listener.query(`listen ${OUTBOX_CHANNEL}`);
          const seen: number[] = [];
          const named: Array<number[] | undefined> = [];
          listener.on('notification', (msg) => {
            named.push(notifiedWebhookIds(msg.payload));
            void db.knex('wa_delivery').count({ n: '*' }).then((rows) => seen.push(Number((rows as Array<{ n: unknown }>)[0].n)));
          });
          await Promise.all(Array.from({ length: 30 }, (_, i) => enqueueSignalledEvent(db, event(i), { now: T0 })));
          const until = Date.now() + 5000;
          while (seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
          await new Promise((r) => setTimeout(r, 200));
          assert.ok(seen.length >= 1, 'a notification arrives');
          assert.ok(seen.length < 30, `30 concurrent enqueues fold into fewer notifications (got ${seen.length})`);
          assert.ok(seen.every((n) => n > 0), 'every notification finds committed rows');
          // The payload names the webhooks that got deliveries, so a worker with each of them in flight skips the claim.
          assert.deepEqual(named.map((ids) => [...new Set(ids)].sort((x, y) => x - y)), named.map(() => [a, b].sort((x, y) => x - y)));
          const none = await enqueueSignalledEvent(db, event(1, 'nobody.listens'), { now: T0 });
          assert.equal(none.deliveries, 0);
        } finally {
          await listener.end();
        }
      });
    }
  });
}
