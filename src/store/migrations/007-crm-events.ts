/**
 * 007-crm-events: what the CRM event source (src/crm/) needs.
 * - wa_event.body_parts: JSON of the body parts an entity event brings besides its data (Changes, Values,
 *   whether FieldValues is sent; webhooks/types.ts BodyParts). Null for SignalEvent and state events.
 * - wa_crm_cursor: per CRM source, the position up to which its changes are enqueued (a PostgreSQL LSN or a
 *   SQL Server change tracking version, as text). It is written in the same transaction as the deliveries of
 *   those changes, so after any crash the source resumes exactly after what was enqueued.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('wa_event', (t) => {
    t.text('body_parts').nullable();
  });
  await knex.schema.createTable('wa_crm_cursor', (t) => {
    t.string('source_name', 400).primary();
    t.string('position', 100).notNullable();
    t.bigInteger('updated').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('wa_crm_cursor');
  await knex.schema.alterTable('wa_event', (t) => {
    t.dropColumn('body_parts');
  });
}
