/**
 * 006-receivers: per-hook settings of our own, and the idempotency keys of SignalEvent.
 *
 * - wa_webhook_setting: one optional row per webhook for what NetServer's `webhook` table has no column for (that
 *   table and the SOAP contract stay as they are). No row means every default. Today: the signature scheme
 *   (`netserver`, `standard` or `both`; see outbox/send/signature.ts) and a secret rotation's previous secret (stored
 *   like webhook.secret, through the SecretCodec, so it is encrypted at rest and `secrets reencrypt` rewrites it),
 *   which is signed with until previous_secret_until (epoch ms), and whether X-SuperOffice-Signature keeps using it
 *   meanwhile (previous_secret_netserver 1) instead of the new one. Later settings (the ordering of "Delivery engine,
 *   part 2") are further columns here.
 * - wa_idempotency: one row per (associate, Idempotency-Key) of a signalled event, written in the transaction of
 *   its enqueue, with a hash of the request (a key reused for another request is refused) and what the first request
 *   enqueued. Pruned by the outbox maintenance after IDEMPOTENCY_KEY_TTL_MS. SQL Server compares the key under a
 *   binary collation (exactly, as the other dialects do).
 *
 * Times are epoch milliseconds (bigint), as in the outbox tables (002).
 */
import type { Knex } from 'knex';
import { dialectOfKnex } from '../row-mapping.js';
import { SECRET_COLUMN_LENGTH } from './003-secret-size.js';
import { MSSQL_EXACT_COLLATION } from './005-names.js';

export const signatureSchemes = ['netserver', 'standard', 'both'] as const;
export const IDEMPOTENCY_KEY_MAX = 255;

export function receiversSchema(knex: Knex): Knex.SchemaBuilder[] {
  const mssql = dialectOfKnex(knex) === 'mssql';
  return [
    knex.schema.createTable('wa_webhook_setting', (t) => {
      t.integer('webhook_id').notNullable().primary();
      t.string('signature', 20).notNullable().defaultTo('netserver');
      t.string('previous_secret', SECRET_COLUMN_LENGTH).nullable();
      t.bigInteger('previous_secret_until').nullable();
      t.smallint('previous_secret_netserver').notNullable().defaultTo(0);
      t.bigInteger('updated').notNullable();
      t.foreign('webhook_id', 'fk_wa_webhook_setting_webhook').references('webhook_id').inTable('webhook').onDelete('CASCADE');
    }),
    knex.schema.createTable('wa_idempotency', (t) => {
      t.integer('associate_id').notNullable();
      if (mssql) t.specificType('idempotency_key', `nvarchar(${IDEMPOTENCY_KEY_MAX}) COLLATE ${MSSQL_EXACT_COLLATION}`).notNullable();
      else t.string('idempotency_key', IDEMPOTENCY_KEY_MAX).notNullable();
      // sha-256 hex of the request (event name, primary key, data).
      t.string('request_hash', 64).notNullable();
      t.bigInteger('event_id').nullable();
      t.integer('deliveries').notNullable();
      t.bigInteger('created').notNullable();
      t.primary(['associate_id', 'idempotency_key'], 'pk_wa_idempotency');
      t.index(['created'], 'ix_wa_idempotency_created');
    }),
  ];
}

export async function up(knex: Knex): Promise<void> {
  for (const step of receiversSchema(knex)) await step;
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['wa_idempotency', 'wa_webhook_setting']) await knex.schema.dropTableIfExists(table);
}
