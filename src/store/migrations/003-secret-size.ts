/**
 * 003-secret-size: room for encrypted webhook secrets (store/secret-codec.ts). NetServer's `secret` is String(400);
 * the encrypted form of a 400-character secret is up to 1,656 characters (3 UTF-8 bytes per character, IV, tag,
 * base64, prefix), so the column becomes 2000 on PostgreSQL and SQL Server. Widening a varchar/nvarchar is a
 * metadata change on both (no table rewrite). SQLite does not enforce declared lengths: nothing to do there.
 * Validation still limits the plaintext secret to 400 characters.
 */
import type { Knex } from 'knex';
import { dialectOfKnex } from '../row-mapping.js';

export const SECRET_COLUMN_LENGTH = 2000;
const NETSERVER_SECRET_LENGTH = 400;

/** The DDL (none on SQLite), so the generated SQL can be checked per dialect without a server. */
export function secretSizeSchema(knex: Knex, length = SECRET_COLUMN_LENGTH): Array<Knex.SchemaBuilder | Knex.Raw> {
  const dialect = dialectOfKnex(knex);
  if (dialect === 'sqlite') return [];
  if (dialect === 'mssql') {
    return [knex.schema.alterTable('webhook', (t) => {
      t.string('secret', length).nullable().alter();
    })];
  }
  // PostgreSQL: a plain TYPE change (knex's alter() adds a USING cast and default/null changes not needed here).
  return [knex.raw(`alter table webhook alter column secret type varchar(${length})`)];
}

export async function up(knex: Knex): Promise<void> {
  for (const step of secretSizeSchema(knex)) await step;
}

/** Fails (value too long) rather than truncating while encrypted secrets are stored: decrypt them first. */
export async function down(knex: Knex): Promise<void> {
  for (const step of secretSizeSchema(knex, NETSERVER_SECRET_LENGTH)) await step;
}
