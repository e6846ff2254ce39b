/**
 * The PostgreSQL CRM event source on a real PostgreSQL with wal_level=logical: every family's insert, updates of
 * one and several columns, soft delete, hard delete and a multi-row transaction, read by logical replication,
 * enqueued through the outbox and delivered by the real worker to a loopback receiver; the contact bodies are
 * compared with the reference's examples field by field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, PG_URL, type TestDatabase } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';
import { createHook, silentLogger, startReceiver, testConfig, type ReceivedRequest, type Receiver } from '../integration/delivery-support.js';
import { createWorker, type Worker } from '../../src/outbox/worker.js';
import { createPgCrmSource } from '../../src/crm/pg-crm-source.js';
import type { CrmSource } from '../../src/crm/crm-source.js';
import { crmTables } from './crm-tables.js';
import { CRM_SCHEMA, PUBLICATION, createCrmDatabase, deleteRow, insertRow, sampleRow, tableOf, updateRow, type CrmDatabase } from './pg-crm-support.js';
import { referenceExample } from './reference-examples.js';
import { logicalReplication } from './pg-logical.js';

const docs = await requires('webhook-docs');
const logical = await logicalReplication();

describe('CRM events from PostgreSQL', logical, () => {
  let crm: CrmDatabase;
  let svc: TestDatabase;
  let rx: Receiver;
  let worker: Worker;
  let source: CrmSource;

  before(async () => {
    crm = await createCrmDatabase(PG_URL);
    svc = await freshDatabase('pg');
    rx = await startReceiver();
    await createHook(svc.knex, { name: 'Name you provided', targetUrl: rx.url, events: ['*'] });
    worker = createWorker({ db: svc, config: testConfig({ pollIntervalMs: 50 }), logger: silentLogger, mailer: null });
    await worker.start();
    source = createPgCrmSource({
      crmUrl: crm.url, schema: CRM_SCHEMA, slotName: crm.slot, publicationName: PUBLICATION, db: svc, logger: silentLogger, retryMs: 200,
    });
    source.start();
  });

  after(async () => {
    await source?.stop();
    await worker?.stop();
    await rx?.close();
    await svc?.drop();
    await crm?.drop();
  });

  /** Waits for `n` more deliveries and returns their bodies in arrival order. */
  let seen = 0;
  async function next(n: number): Promise<Array<Record<string, unknown>>> {
    await rx.waitFor(seen + n, 20_000);
    const got = rx.requests.slice(seen, seen + n).map((r: ReceivedRequest) => r.json);
    seen += n;
    return got;
  }
  const brief = (b: Record<string, unknown>) => [b.Event, b.PrimaryKey, b.Changes];

  test('contact: the delivered bodies match the reference examples field by field', docs, async () => {
    const t = tableOf('contact');
    const example = referenceExample('reference__contact-events.md.txt', 'contact.created');
    const fv = example.FieldValues as Record<string, unknown>;
    const row: Record<string, unknown> = { ...sampleRow(t, 994863), ...fv, updated: '2025-05-14T10:48:07.891204+02:00' };
    delete row.DeletedDate;
    await insertRow(crm.knex, t, row);
    const [created] = await next(1);
    assert.deepEqual(Object.keys(created!), Object.keys(example));
    assert.deepEqual(created!.Changes, example.Changes);
    for (const k of ['Event', 'PrimaryKey', 'Entity', 'WebhookName'] as const) assert.deepEqual(created![k], example[k], k);
    assert.equal(created!.ChangedByAssociateId, fv.registered_associate_id);
    const got = created!.FieldValues as Record<string, unknown>;
    assert.deepEqual(Object.keys(got), Object.keys(fv));
    for (const [k, v] of Object.entries(fv)) {
      if (k === 'updated') assert.equal(Date.parse(String(got[k])), Date.parse('2025-05-14T10:48:07.891204+02:00'), k);
      else assert.deepEqual(got[k], v, k);
    }

    const changed = referenceExample('reference__contact-events.md.txt', 'contact.changed');
    await updateRow(crm.knex, t, 994863, { associate_id: 13, department: 'Sales', updated_associate_id: 316, updated: new Date(), updatedCount: 2 });
    const [c] = await next(1);
    assert.deepEqual(c!.Changes, changed.Changes);
    assert.equal(c!.Event, 'contact.changed');
    assert.equal(c!.ChangedByAssociateId, 316);
    assert.deepEqual(Object.keys(c!), [...Object.keys(changed), 'FieldValues']);

    const deleted = referenceExample('reference__contact-events.md.txt', 'contact.deleted');
    await updateRow(crm.knex, t, 994863, { associate_id: 4039840 });
    await next(1);
    await deleteRow(crm.knex, t, 994863);
    const [d] = await next(1);
    assert.equal(d!.Event, 'contact.deleted');
    assert.deepEqual(d!.Changes, []);
    assert.deepEqual(d!.Values, deleted.Values);
    assert.deepEqual(Object.keys(d!), [...Object.keys(deleted), 'FieldValues']);
  });

  for (const t of crmTables) {
    test(`${t.entity}: insert, update one column, update several, soft delete, delete`, async () => {
      const id = 500 + crmTables.indexOf(t);
      await insertRow(crm.knex, t, sampleRow(t, id, 9));
      const [created] = await next(1);
      assert.deepEqual([created!.Event, created!.PrimaryKey, created!.ChangedByAssociateId], [`${t.entity}.created`, id, 9]);

      await updateRow(crm.knex, t, id, { [t.textColumn]: 'one' });
      assert.deepEqual((await next(1)).map(brief), [[`${t.entity}.changed`, id, [t.primaryKey, t.textColumn]]]);

      const by = t.entity === 'ticket' ? 'changed_by' : 'updated_associate_id';
      await updateRow(crm.knex, t, id, { [t.textColumn]: 'two', [by]: 77 });
      const [several] = await next(1);
      assert.equal(several!.ChangedByAssociateId, 77);
      assert.deepEqual(new Set(several!.Changes as string[]), new Set([t.primaryKey, t.textColumn, by]));

      if (t.columns.includes('deleted') && (t.entity === 'contact' || t.entity === 'person')) {
        await updateRow(crm.knex, t, id, { deleted: 1 });
        assert.deepEqual((await next(2)).map((b) => b.Event), [`${t.entity}.changed`, `${t.entity}.softdeleted`]);
      }
      if (t.entity === 'sale') {
        await updateRow(crm.knex, t, id, { status: 2 });
        const [ch, sold] = await next(2);
        assert.deepEqual([ch!.Event, sold!.Event, 'FieldValues' in sold!], ['sale.changed', 'sale.sold', false]);
      }

      await deleteRow(crm.knex, t, id);
      if (t.entity === 'ticket') return; // NetServer has no ticket.deleted
      const [deleted] = await next(1);
      assert.deepEqual([deleted!.Event, deleted!.PrimaryKey, deleted!.Changes], [`${t.entity}.deleted`, id, []]);
      assert.equal((deleted!.Values as Record<string, unknown>)[t.primaryKey] ?? id, id);
    });
  }

  test('a multi-row transaction on each family: one event per change, in commit order, in order per record', async () => {
    const expected: string[] = [];
    await crm.knex.transaction(async (trx) => {
      for (const t of crmTables) {
        const id = 900 + crmTables.indexOf(t);
        await insertRow(trx, t, sampleRow(t, id));
        await insertRow(trx, t, sampleRow(t, id + 50));
        await updateRow(trx, t, id, { [t.textColumn]: 'first' });
        await updateRow(trx, t, id, { [t.textColumn]: 'second' });
        expected.push(`${t.entity}.created ${id}`, `${t.entity}.created ${id + 50}`, `${t.entity}.changed ${id}`, `${t.entity}.changed ${id}`);
      }
    });
    const bodies = await next(expected.length);
    // Different records may be delivered in parallel; per record the order is the commit order.
    const perRecord = (list: string[]) => {
      const m = new Map<string, string[]>();
      for (const e of list) {
        const [name, id] = e.split(' ');
        const key = `${name!.split('.')[0]} ${id}`;
        m.set(key, [...(m.get(key) ?? []), e]);
      }
      return m;
    };
    const got = bodies.map((b) => `${b.Event} ${b.PrimaryKey}`);
    assert.deepEqual(new Map([...perRecord(got)].sort()), new Map([...perRecord(expected)].sort()));
    const events = await svc.knex('wa_event').orderBy('event_id').select('name', 'primary_key');
    const tail = events.slice(-expected.length).map((e: { name: string; primary_key: unknown }) => `${e.name} ${Number(e.primary_key)}`);
    assert.deepEqual(tail, expected, 'enqueued in commit order');
    const state = source.state();
    assert.equal(state.status, 'running');
    assert.ok(state.position);
  });
});
