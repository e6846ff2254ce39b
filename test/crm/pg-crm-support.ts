/**
 * A CRM-shaped PostgreSQL database for the CRM source's tests: schema crm7 with the fixture's tables
 * (crm-tables.ts), prepared by `crm-events setup`'s own statements (replica identity, publication, slot), and
 * the slot dropped again on drop() (a leftover slot would hold WAL forever).
 */
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { pgSetupStatements } from '../../src/crm/crm-setup.js';
import { createTableSql, crmTables, sampleRow, type CrmTable } from './crm-tables.js';

export const CRM_SCHEMA = 'crm7';
export const PUBLICATION = 'webhook_agent_crm';

export interface CrmDatabase {
  url: string;
  knex: Knex;
  slot: string;
  /** Drops the slot (waiting for its reader to let go) and the database. */
  drop(): Promise<void>;
}

/** A new database on the server of `serverUrl` (a postgres:// URL of its maintenance database). */
export async function createCrmDatabase(serverUrl: string): Promise<CrmDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const name = `wa_crm_${suffix}`;
  const slot = `wa_crm_test_${suffix}`;
  const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
  await knex.raw(`create schema ${CRM_SCHEMA}`);
  for (const t of crmTables) await knex.raw(createTableSql(CRM_SCHEMA, t));
  for (const s of pgSetupStatements({ schema: CRM_SCHEMA, publication: PUBLICATION, slot })) await knex.raw(s.sql);
  return {
    url, knex, slot,
    async drop() {
      await knex.destroy();
      for (let i = 0; i < 100; i += 1) {
        const r = await admin.raw('select active from pg_replication_slots where slot_name = ?', [slot]);
        if (r.rows.length === 0) break;
        if (!r.rows[0].active) {
          await admin.raw('select pg_drop_replication_slot(?)', [slot]);
          break;
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}

export const tableOf = (entity: string): CrmTable => crmTables.find((t) => t.entity === entity)!;

export function insertRow(k: Knex | Knex.Transaction, t: CrmTable, row: Record<string, unknown>) {
  return k.withSchema(CRM_SCHEMA).table(t.table).insert(row);
}

export function updateRow(k: Knex | Knex.Transaction, t: CrmTable, id: number, set: Record<string, unknown>) {
  return k.withSchema(CRM_SCHEMA).table(t.table).where(t.primaryKey, id).update(set);
}

export function deleteRow(k: Knex | Knex.Transaction, t: CrmTable, id: number) {
  return k.withSchema(CRM_SCHEMA).table(t.table).where(t.primaryKey, id).delete();
}

export { sampleRow };
