/**
 * The SQL Server CRM source without a server: its Change Tracking statements as text (the same text npm run
 * check:tsql parses), and how a Change Tracking row becomes a change (mask, delete, net insert).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import { mssqlCrmSql } from '../../src/crm/mssql-crm-sql.js';
import { changeOfRow, mssqlValue } from '../../src/crm/mssql-crm-source.js';
import { eventsForChange } from '../../src/crm/crm-events.js';
import { familyForTable } from '../../src/crm/crm-families.js';

const k = knexFactory({ client: 'mssql' });
const contact = { schema: 'crm7', table: 'contact', primaryKey: 'contact_id' };

describe('SQL Server CRM source: statements', () => {
  test('changes: CHANGETABLE after the cursor up to the read version, joined to the row, a mask test per column', () => {
    const q = mssqlCrmSql.changes(k, contact, ['contact_id', 'name', 'deleted'], '41', '57').toSQL().toNative();
    assert.match(q.sql, /from changetable\(changes \[crm7\]\.\[contact\], @p6\) as ct/);
    assert.match(q.sql, /left join \[crm7\]\.\[contact\] as r on r\.\[contact_id\] = ct\.\[contact_id\]/);
    assert.match(q.sql, /where ct\.sys_change_version <= @p7/);
    assert.match(q.sql, /order by ct\.sys_change_version, ct\.\[contact_id\]/);
    assert.match(q.sql, /change_tracking_is_column_in_mask\(columnproperty\(object_id\(@p2\), @p3, 'ColumnId'\), ct\.sys_change_columns\) as \[wa_changed_1\]/);
    assert.deepEqual(q.bindings, ['crm7.contact', 'contact_id', 'crm7.contact', 'name', 'crm7.contact', 'deleted', 41, 57]);
  });

  test('the version checks: current and minimum valid, per table', () => {
    assert.equal(mssqlCrmSql.current(k).toSQL().sql, 'select change_tracking_current_version() as version');
    const min = mssqlCrmSql.minValid(k, contact).toSQL().toNative();
    assert.equal(min.sql, 'select change_tracking_min_valid_version(object_id(@p0)) as version');
    assert.deepEqual(min.bindings, ['crm7.contact']);
  });

  test('identifiers are bracket-quoted, a ] doubled', () => {
    const q = mssqlCrmSql.changes(k, { schema: 'crm7', table: 'odd]name', primaryKey: 'id' }, ['id'], '1', '2').toSQL().sql;
    assert.match(q, /\[crm7\]\.\[odd\]\]name\]/);
  });
});

describe('SQL Server CRM source: rows to changes', () => {
  const family = familyForTable('contact')!;
  const info = { family, columns: ['contact_id', 'name', 'deleted', 'updated_associate_id', 'registered'], types: new Map([['registered', 'datetime']]) };
  const at = new Date(Date.UTC(2024, 0, 1));

  test('an update: the changed columns from the mask; softdeleted when deleted is among them and is 1', () => {
    const r = { wa_operation: 'U', wa_key: 7, wa_changed_0: 0, wa_changed_1: 0, wa_changed_2: 1, wa_changed_3: 1, wa_changed_4: 0,
      contact_id: 7, name: 'A', deleted: 1, updated_associate_id: 316, registered: new Date(Date.UTC(2020, 1, 16, 17, 50, 17)) };
    const events = eventsForChange(family, changeOfRow(info, r, at));
    assert.deepEqual(events.map((e) => e.eventName), ['contact.changed', 'contact.softdeleted']);
    assert.deepEqual(events[0]!.bodyParts!.changes, ['contact_id', 'deleted', 'updated_associate_id']);
    assert.equal(events[0]!.changedByAssociateId, 316);
    assert.equal(events[0]!.data.registered, '2020-02-16T17:50:17');
  });

  test('a delete knows only the primary key', () => {
    const events = eventsForChange(family, changeOfRow(info, { wa_operation: 'D', wa_key: 7 }, at));
    assert.deepEqual(events.map((e) => [e.eventName, e.primaryKey, e.bodyParts!.values, e.changedByAssociateId]), [['contact.deleted', 7, { contact_id: 7 }, 0]]);
  });

  test('an insert: every column; a NULL datetime is DateTime.MinValue', () => {
    const [e] = eventsForChange(family, changeOfRow(info, { wa_operation: 'I', wa_key: 8, contact_id: 8, name: 'B', deleted: 0, registered: null }, at));
    assert.equal(e!.eventName, 'contact.created');
    assert.deepEqual(e!.bodyParts!.changes, ['contact_id', 'deleted', 'name', 'registered', 'updated_associate_id']);
    assert.equal(e!.data.registered, '0001-01-01T00:00:00');
  });

  test('driver values: bit as 0/1, datetime without a zone, trailing fraction zeros dropped', () => {
    assert.equal(mssqlValue('bit', true), 1);
    assert.equal(mssqlValue('datetime', new Date(Date.UTC(2020, 1, 16, 17, 50, 17, 500))), '2020-02-16T17:50:17.5');
    assert.equal(mssqlValue('int', null), null);
  });
});
