/**
 * CRM rows -> NetServer payloads, field by field against the reference's examples (contact-events.md,
 * index.md) and the FieldValues keys of each family (notes/netserver-contract.md section 4). Rows go through
 * pgoutput's text forms (pgTextToValue) as the PostgreSQL source reads them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requires, sharedDir } from '../helpers/requires.js';
import { compareChangeNames, eventsForChange, type CrmRowChange } from '../../src/crm/crm-events.js';
import { crmFamilies, familyForTable, type CrmFamily, type CrmRow } from '../../src/crm/crm-families.js';
import { pgTextToValue } from '../../src/crm/pg-values.js';
import { buildPayload } from '../../src/outbox/send/payload.js';
import type { SignalledEvent } from '../../src/webhooks/types.js';
import { columnType, crmTables, sampleRow, shuffled, type CrmTable } from './crm-tables.js';
import { referenceExample, referenceExamples, referenceFieldValueKeys } from './reference-examples.js';

const docs = await requires('webhook-docs');
const contactPage = 'reference__contact-events.md.txt';
const committedAt = new Date(Date.UTC(2018, 3, 24, 7, 50, 50, 681));

const oids = { integer: 23, text: 25, timestamp: 1114, timestamptz: 1184 } as const;

/** A value as pgoutput sends it (text), read back as the source does. */
function viaPgText(column: string, v: unknown): CrmRow[string] {
  if (v === null || v === undefined) return pgTextToValue(oids[columnType(column)], null);
  const text = typeof v === 'string' ? v.replace('T', ' ').replace(/([+-]\d{2}):00$/, '$1') : String(v);
  return pgTextToValue(oids[columnType(column)], text);
}

/** A .NET 7-digit fraction rounded to PostgreSQL's 6, as PostgreSQL stores it. */
function toMicroseconds(text: string): string {
  return text.replace(/\.(\d{7})/, (_, f: string) => `.${String(Math.round(Number(f) / 10)).padStart(6, '0')}`);
}

function pgRow(table: CrmTable, row: Record<string, unknown>): CrmRow {
  return Object.fromEntries(table.columns.map((c) => [c, viaPgText(c, row[c])]));
}

const tableOf = (entity: string) => crmTables.find((t) => t.entity === entity)!;
const familyOf = (t: CrmTable): CrmFamily => familyForTable(t.table)!;

function change(t: CrmTable, op: CrmRowChange['op'], old: Record<string, unknown> | null, row: Record<string, unknown> | null): SignalledEvent[] {
  return eventsForChange(familyOf(t), {
    op, columns: shuffled(t.columns), old: old && pgRow(t, old), row: row && pgRow(t, row), committedAt,
  });
}

function body(e: SignalledEvent): Record<string, unknown> {
  return buildPayload({
    eventUuid: '8337ae4a-1dd6-40fd-8dc7-a050664a0af7', eventName: e.eventName, primaryKey: e.primaryKey, data: e.data,
    changedByAssociateId: e.changedByAssociateId, timestamp: e.timestamp, webhookName: 'Name you provided',
    contextIdentifier: 'Cust1234', bodyParts: e.bodyParts,
  });
}

describe('CRM events: contact against reference/contact-events.md', docs, () => {
  const contact = tableOf('contact');
  const created = () => referenceExample(contactPage, 'contact.created');
  /** The example's row: its FieldValues, PrimaryKey, and plausible values for the other columns. */
  const exampleRow = () => {
    const row: Record<string, unknown> = { ...sampleRow(contact, 994863), ...(created().FieldValues as Record<string, unknown>) };
    delete row.DeletedDate; // not a column of contact (not in contact.created's Changes)
    row.updated = toMicroseconds(String(row.updated));
    return row;
  };

  test('contact.created: Changes are every column in the example\'s order, whatever the table\'s order', () => {
    const [e] = change(contact, 'insert', null, exampleRow());
    const b = body(e!);
    assert.equal(b.Event, 'contact.created');
    assert.deepEqual(b.Changes, created().Changes);
  });

  test('contact.created: body keys in the example\'s order; PrimaryKey, Entity, Timestamp', () => {
    const [e] = change(contact, 'insert', null, exampleRow());
    const b = body(e!);
    assert.deepEqual(Object.keys(b), Object.keys(created()));
    assert.equal(b.PrimaryKey, created().PrimaryKey);
    assert.equal(b.Entity, 'contact');
    assert.equal(b.Timestamp, '2018-04-24T07:50:50.681Z');
    assert.equal(b.ContextIdentifier, 'Cust1234');
  });

  test('contact.created: FieldValues has the page\'s keys in the example\'s order and its values', () => {
    const [e] = change(contact, 'insert', null, exampleRow());
    const fv = body(e!).FieldValues as Record<string, unknown>;
    const expected = created().FieldValues as Record<string, unknown>;
    assert.deepEqual(Object.keys(fv), Object.keys(expected));
    assert.deepEqual(new Set(Object.keys(fv)), new Set(referenceFieldValueKeys(contactPage)));
    for (const [k, v] of Object.entries(expected)) {
      // PostgreSQL keeps microseconds: the example's 7th fraction digit cannot be stored.
      if (k === 'updated') assert.equal(fv[k], toMicroseconds(String(v)), k);
      else assert.deepEqual(fv[k], v, k);
    }
  });

  test('contact.created: ChangedByAssociateId is registered_associate_id', () => {
    const [e] = change(contact, 'insert', null, { ...exampleRow(), registered_associate_id: 316, updated_associate_id: 7 });
    assert.equal(body(e!).ChangedByAssociateId, 316);
  });

  test('contact.changed: Changes are the primary key and the changed columns in the example\'s order', () => {
    const old = exampleRow();
    const row = { ...old, associate_id: 13, department: 'Sales', updated_associate_id: 316, updated: '2025-05-15T09:00:00+02:00', updatedCount: 3 };
    const events = change(contact, 'update', old, row);
    assert.deepEqual(events.map((e) => e.eventName), ['contact.changed']);
    const b = body(events[0]!);
    const expected = referenceExample(contactPage, 'contact.changed');
    assert.deepEqual(b.Changes, expected.Changes);
    assert.equal(b.ChangedByAssociateId, 316);
    assert.equal(b.PrimaryKey, expected.PrimaryKey);
    // The example stops at WebhookName; FieldValues (the page: "included ... for contact events") follows it.
    assert.deepEqual(Object.keys(b), [...Object.keys(expected), 'FieldValues']);
  });

  test('contact.changed: one column', () => {
    const old = exampleRow();
    const [e] = change(contact, 'update', old, { ...old, name: 'Renamed' });
    assert.deepEqual(e!.bodyParts?.changes, ['contact_id', 'name']);
  });

  test('contact.softdeleted: deleted 0 -> 1 raises changed, then softdeleted with the same Changes', () => {
    const old = exampleRow();
    const events = change(contact, 'update', old, { ...old, deleted: 1, updated_associate_id: 316 });
    assert.deepEqual(events.map((e) => e.eventName), ['contact.changed', 'contact.softdeleted']);
    const b = body(events[1]!);
    assert.deepEqual(b.Changes, ['contact_id', 'deleted', 'updated_associate_id']);
    assert.equal((b.FieldValues as Record<string, unknown>).deleted, 1);
    assert.equal(b.ChangedByAssociateId, 316);
    // Already soft-deleted: a further change is only `changed`.
    const again = change(contact, 'update', { ...old, deleted: 1 }, { ...old, deleted: 1, name: 'x' });
    assert.deepEqual(again.map((e) => e.eventName), ['contact.changed']);
  });

  test('contact.deleted: Changes [], Values as the example, keys in its order', () => {
    const expected = referenceExample(contactPage, 'contact.deleted');
    const old = { ...exampleRow(), ...(expected.Values as Record<string, unknown>), updated_associate_id: 316 };
    const events = change(contact, 'delete', old, null);
    assert.deepEqual(events.map((e) => e.eventName), ['contact.deleted']);
    const b = body(events[0]!);
    assert.deepEqual(b.Changes, []);
    assert.deepEqual(b.Values, expected.Values);
    assert.deepEqual(Object.keys(b.Values as object), Object.keys(expected.Values as object));
    assert.equal(b.PrimaryKey, expected.PrimaryKey);
    assert.equal(b.ChangedByAssociateId, 316);
    assert.deepEqual(Object.keys(b), [...Object.keys(expected), 'FieldValues']);
  });

  test('an update that changes nothing raises nothing', () => {
    const old = exampleRow();
    assert.deepEqual(change(contact, 'update', old, { ...old }), []);
  });
});

describe('CRM events: sale against reference/index.md', docs, () => {
  const sale = tableOf('sale');
  test('sale.deleted: Values as the example, keys in its order', () => {
    const expected = referenceExamples('reference__index.md.txt').find((e) => e.Event === 'sale.deleted')!;
    const old = { ...sampleRow(sale, 994863), ...(expected.Values as Record<string, unknown>) };
    const [e] = change(sale, 'delete', old, null);
    const b = body(e!);
    assert.deepEqual(b.Values, expected.Values);
    assert.deepEqual(Object.keys(b.Values as object), Object.keys(expected.Values as object));
    assert.equal(b.PrimaryKey, expected.PrimaryKey);
    assert.equal(b.Entity, expected.Entity);
    const order = Object.keys(b).filter((k) => k in expected);
    assert.deepEqual(order, Object.keys(expected));
  });
});

describe('CRM events: sale verbs from the row', () => {
  const sale = tableOf('sale');
  const old = sampleRow(sale, 70);
  const verbs = (row: Record<string, unknown>, from = old) => change(sale, 'update', from, row).map((e) => e.eventName);
  test('status 1 -> 2 sold, -> 3 lost; done 0 -> 1 completed; status 4 only changed', () => {
    assert.deepEqual(verbs({ ...old, status: 2 }), ['sale.changed', 'sale.sold']);
    assert.deepEqual(verbs({ ...old, status: 3 }), ['sale.changed', 'sale.lost']);
    assert.deepEqual(verbs({ ...old, done: 1 }), ['sale.changed', 'sale.completed']);
    assert.deepEqual(verbs({ ...old, status: 4 }), ['sale.changed']);
    assert.deepEqual(verbs({ ...old, status: 2, heading: 'x' }, { ...old, status: 2 }), ['sale.changed']);
  });
  test('sold, lost and completed carry no FieldValues ("no field values for this event")', () => {
    const [, sold] = change(sale, 'update', old, { ...old, status: 2 });
    const b = body(sold!);
    assert.equal('FieldValues' in b, false);
    assert.deepEqual(b.Changes, ['sale_id', 'status']);
  });
});

describe('CRM events: every family', () => {
  for (const t of crmTables) {
    const family = familyOf(t);
    test(`${t.entity}: created, one column, several, deleted`, () => {
      const row = sampleRow(t, 41, 9);
      const [created] = change(t, 'insert', null, row);
      assert.equal(created!.eventName, `${t.entity}.created`);
      assert.equal(created!.primaryKey, 41);
      assert.equal(created!.changedByAssociateId, 9);
      assert.deepEqual(Object.keys(created!.data), family.fieldValues.filter((k) => t.columns.includes(k) || k === 'DeletedDate'));
      if (family.changesOnCreate === 'all') {
        assert.deepEqual(created!.bodyParts!.changes, [t.primaryKey, ...t.columns.filter((c) => c !== t.primaryKey).sort(compareChangeNames)]);
      }
      const one = change(t, 'update', row, { ...row, [t.textColumn]: 'changed' });
      assert.deepEqual(one.map((e) => [e.eventName, e.bodyParts!.changes]), [[`${t.entity}.changed`, [t.primaryKey, t.textColumn]]]);
      const by = family.changedByOnChange[0]!;
      const several = change(t, 'update', row, { ...row, [t.textColumn]: 'changed', [by]: 77 });
      assert.deepEqual(several[0]!.bodyParts!.changes, [t.primaryKey, ...[t.textColumn, by].sort(compareChangeNames)]);
      assert.equal(several[0]!.changedByAssociateId, 77);
      const deleted = change(t, 'delete', row, null);
      if (!family.deletes) return assert.deepEqual(deleted, []);
      assert.equal(deleted[0]!.eventName, `${t.entity}.deleted`);
      assert.deepEqual(deleted[0]!.bodyParts!.changes, []);
      assert.ok(Object.keys(deleted[0]!.bodyParts!.values!).length > 0);
    });
  }

  test('person.softdeleted from deleted 0 -> 1', () => {
    const t = tableOf('person');
    const row = sampleRow(t, 3);
    assert.deepEqual(change(t, 'update', row, { ...row, deleted: 1 }).map((e) => e.eventName), ['person.changed', 'person.softdeleted']);
  });

  test('the families are the reference\'s, with the FieldValues keys of notes section 4', docs, () => {
    const notes = readFileSync(path.join(sharedDir, 'notes/netserver-contract.md'), 'utf8');
    for (const f of crmFamilies) {
      const line = notes.split('\n').find((l) => l.startsWith(`| ${f.entity} `));
      assert.ok(line, f.entity);
      const keys = line.split('|')[3]!.replace(/\([^)]*\)/g, '').split(',').map((k) => k.trim()).filter(Boolean);
      // relation: the page lists associate_id, its example and the table have associateId.
      const ours = f.fieldValues.map((k) => (f.entity === 'relation' && k === 'associateId' ? 'associate_id' : k));
      assert.deepEqual(new Set(ours), new Set(keys), f.entity);
    }
    assert.deepEqual(crmFamilies.map((f) => f.entity).sort(), crmTables.map((t) => t.entity).sort());
  });
});

describe('CRM events: Changes order', () => {
  test('underscore before the end of a name, the end before letters and digits, case ignored', () => {
    const sorted = ['updated', 'updatedCount', 'updated_associate_id', 'userdef2_id', 'userdef_id', 'registered', 'registered_associate_id', 'Name', 'mother_id']
      .sort(compareChangeNames);
    assert.deepEqual(sorted, ['mother_id', 'Name', 'registered_associate_id', 'registered', 'updated_associate_id', 'updated', 'updatedCount', 'userdef_id', 'userdef2_id']);
  });
});
