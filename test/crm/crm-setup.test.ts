/**
 * `crm-events setup`: the statements for both engines as text, and --apply on a real PostgreSQL (tables that are
 * missing are left out, a second run changes nothing it should keep, the slot is created once).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { PG_URL } from '../helpers/db.js';
import { requires } from '../helpers/requires.js';
import { runSetup, setupStatementsFor, type SetupCommandOptions } from '../../src/cli-crm-events.js';
import { crmTables } from '../../src/crm/crm-families.js';

const base: Omit<SetupCommandOptions, 'from'> = { schema: 'crm7', publication: 'webhook_agent_crm', slot: 'webhook_agent', retentionDays: 7 };

describe('crm-events setup: the statements', () => {
  test('PostgreSQL: replica identity full on every family table, one publication, the reader\'s REPLICATION, the slot', () => {
    const { engine, statements } = setupStatementsFor({ ...base, from: 'postgres://reader:pw@db/crm' });
    assert.equal(engine, 'pg');
    const sql = statements.map((s) => s.sql);
    assert.deepEqual(sql.filter((s) => s.includes('replica identity')), crmTables.map((t) => `alter table "crm7"."${t}" replica identity full`));
    assert.deepEqual(sql.filter((s) => s.startsWith('create publication')),
      [`create publication "webhook_agent_crm" for table ${crmTables.map((t) => `"crm7"."${t}"`).join(', ')}`]);
    assert.ok(sql.includes('alter role "reader" replication'));
    assert.equal(sql.at(-1), "select pg_create_logical_replication_slot('webhook_agent', 'pgoutput')");
  });

  test('SQL Server: Change Tracking with retention, snapshot isolation, columns tracked, VIEW CHANGE TRACKING and SELECT', () => {
    const { engine, statements } = setupStatementsFor({ ...base, from: 'mssql://wa_reader:pw@sql:1433/SuperOffice', retentionDays: 3 });
    assert.equal(engine, 'mssql');
    const sql = statements.map((s) => s.sql);
    assert.equal(sql[0], 'alter database [SuperOffice] set change_tracking = on (change_retention = 3 days, auto_cleanup = on)');
    assert.equal(sql[1], 'alter database [SuperOffice] set allow_snapshot_isolation on');
    for (const t of crmTables) {
      assert.ok(sql.includes(`alter table [crm7].[${t}] enable change_tracking with (track_columns_updated = on)`), t);
      assert.ok(sql.includes(`grant view change tracking, select on [crm7].[${t}] to [wa_reader]`), t);
    }
  });

  test('an unknown scheme or a SQL Server URL without a database is refused with a reason', () => {
    assert.throws(() => setupStatementsFor({ ...base, from: 'mysql://db/crm' }), /postgres:\/\/… or mssql:\/\/…/);
    assert.throws(() => setupStatementsFor({ ...base, from: 'mssql://sql:1433' }), /must name the CRM database/);
  });

  test('the printed script says what to run it as and hides the password', async () => {
    let out = '';
    await runSetup({ ...base, from: 'postgres://reader:secret@db/crm' }, (s) => { out += s; });
    assert.match(out, /postgres:\/\/reader:\*\*\*@db\/crm/);
    assert.doesNotMatch(out, /secret/);
    assert.match(out, /wal_level = logical/);
    assert.match(out, /^alter table "crm7"."contact" replica identity full;$/m);
  });
});

describe('crm-events setup --apply on PostgreSQL', await requires('postgres'), () => {
  test('only the tables that exist; run twice; slot created once', async () => {
    const name = `wa_crm_setup_${randomBytes(4).toString('hex')}`;
    const slot = `wa_crm_test_${randomBytes(4).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw(`create database ${name}`);
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    const k = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
    try {
      await k.raw('create schema crm7');
      await k.raw('create table crm7.contact (contact_id integer primary key, name text)');
      await k.raw('create table crm7.sale (sale_id integer primary key, status integer)');
      let out = '';
      const opts = { ...base, slot, from: u.toString(), apply: true };
      await runSetup(opts, (s) => { out += s; });
      assert.match(out, /left out: appointment, associate, document/);
      const tables = (await k.raw("select tablename from pg_publication_tables where pubname = 'webhook_agent_crm' order by 1")).rows.map((r: { tablename: string }) => r.tablename);
      assert.deepEqual(tables, ['contact', 'sale']);
      const identity = (await k.raw("select relname, relreplident from pg_class where relname in ('contact', 'sale') order by 1")).rows;
      assert.deepEqual(identity.map((r: { relreplident: string }) => r.relreplident), ['f', 'f']);
      await k.raw('create table crm7.person (person_id integer primary key)');
      out = '';
      await runSetup(opts, (s) => { out += s; });
      assert.match(out, /alter publication "webhook_agent_crm" set table/);
      assert.match(out, new RegExp(`slot ${slot} exists: kept`));
      const after = (await k.raw("select count(*)::int as n from pg_publication_tables where pubname = 'webhook_agent_crm'")).rows[0].n;
      assert.equal(after, 3);
    } finally {
      await k.destroy();
      await admin.raw('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ?', [slot]);
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    }
  });
});
