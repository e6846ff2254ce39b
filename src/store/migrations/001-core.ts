/**
 * 001-core: webhooks (NetServer's `webhook`, `webhook_usage`, `webhook_notify` with their column names, so rows of
 * an existing NetServer database map 1:1), our per-event index table, associates and tickets.
 *
 * Choices that differ from NetServer's documented schema, and why:
 * - Time columns hold UTC. SQL Server: datetime2(3) (millisecond precision, what a JS Date carries, so values
 *   round-trip exactly); PostgreSQL: timestamptz(3) (the pg driver then reads an unambiguous instant); SQLite:
 *   knex's better-sqlite3 binding stores a Date as epoch milliseconds in a `datetime` column.
 * - `updated` is nullable and the `*_associate_id` columns default to 0 (SuperOffice's "nobody"): a webhook that
 *   was never updated has no Updated time.
 * - No foreign keys from `*_associate_id` to `associate`: imported NetServer rows name associates that do not exist
 *   in our minimal `associate` table.
 * - `webhook_event` is ours: one row per (webhook, event), so SignalEvent and the Event filter are index lookups.
 *   The `events` comma list is still written for NetServer compatibility; see backfillEventRows for rows written by
 *   NetServer itself.
 * - `associate` and `ticket` are ours (NetServer's own associate/credentials tables look different).
 */
import type { Knex } from 'knex';

import type { Dialect } from '../database.js';
import { dialectOfKnex as dialectOf } from '../row-mapping.js';

/** A UTC time column, per dialect (see the header comment). */
function utcColumn(t: Knex.CreateTableBuilder, dialect: Dialect, name: string): Knex.ColumnBuilder {
  if (dialect === 'mssql') return t.specificType(name, 'datetime2(3)');
  if (dialect === 'pg') return t.datetime(name, { useTz: true, precision: 3 });
  return t.datetime(name);
}

/** NetServer's standard trailer columns. */
function auditColumns(t: Knex.CreateTableBuilder, dialect: Dialect): void {
  utcColumn(t, dialect, 'registered').notNullable();
  t.integer('registered_associate_id').notNullable().defaultTo(0);
  utcColumn(t, dialect, 'updated').nullable();
  t.integer('updated_associate_id').notNullable().defaultTo(0);
  t.integer('updatedCount').notNullable().defaultTo(0);
}

/** The DDL of this migration, as builders, so the generated SQL can be checked per dialect without a server. */
export function coreSchema(knex: Knex): Array<Knex.SchemaBuilder | Knex.Raw> {
  const dialect = dialectOf(knex);
  const steps: Array<Knex.SchemaBuilder | Knex.Raw> = [];

  steps.push(
    knex.schema.createTable('webhook', (t) => {
      t.increments('webhook_id');
      t.string('name', 400).notNullable();
      t.string('events', 4000).notNullable();
      t.string('target_url', 4000).notNullable();
      t.string('type', 100).notNullable();
      t.string('application_token', 200).nullable();
      t.text('headers').nullable();
      t.text('properties').nullable();
      t.string('secret', 400).nullable();
      t.smallint('state').notNullable();
      auditColumns(t, dialect);
      t.string('errors_email', 239).nullable();
      t.string('description', 4000).nullable();
      t.smallint('notify_via').notNullable().defaultTo(0);
      t.smallint('notify_when').notNullable().defaultTo(0);
    }),
  );

  steps.push(
    knex.schema.createTable('webhook_usage', (t) => {
      // "Same primary key as the webhook": not an identity column.
      t.integer('webhook_usage_id').notNullable().primary();
      t.integer('total_calls').notNullable().defaultTo(0);
      t.integer('total_errors').notNullable().defaultTo(0);
      t.integer('consecutive_errors').notNullable().defaultTo(0);
      t.string('last_error', 4000).nullable();
      auditColumns(t, dialect);
      t.foreign('webhook_usage_id', 'fk_webhook_usage_webhook').references('webhook_id').inTable('webhook').onDelete('CASCADE');
    }),
  );

  steps.push(
    knex.schema.createTable('webhook_notify', (t) => {
      t.increments('webhook_notify_id');
      t.integer('webhook_id').notNullable();
      t.integer('associate_id').nullable();
      t.string('email_recipient', 239).nullable();
      auditColumns(t, dialect);
      t.foreign('webhook_id', 'fk_webhook_notify_webhook').references('webhook_id').inTable('webhook').onDelete('CASCADE');
      t.index(['webhook_id'], 'ix_webhook_notify_webhook');
      t.index(['associate_id'], 'ix_webhook_notify_associate');
    }),
  );

  steps.push(
    knex.schema.createTable('webhook_event', (t) => {
      t.integer('webhook_id').notNullable();
      // 400 chars keeps the SQL Server clustered key (int + nvarchar(400) = 804 bytes) under its 900-byte limit.
      t.string('event_name', 400).notNullable();
      // Position in the hook's Events, so they come back in the order they were saved.
      t.integer('ordinal').notNullable();
      t.primary(['webhook_id', 'event_name'], 'pk_webhook_event');
      t.index(['event_name', 'webhook_id'], 'ix_webhook_event_event');
      t.foreign('webhook_id', 'fk_webhook_event_webhook').references('webhook_id').inTable('webhook').onDelete('CASCADE');
    }),
  );

  steps.push(
    knex.schema.createTable('associate', (t) => {
      t.increments('associate_id');
      // The login user name; unique regardless of case (index below).
      t.string('name', 200).notNullable();
      t.string('full_name', 400).notNullable().defaultTo('');
      t.integer('person_id').notNullable().defaultTo(0);
      t.string('password_hash', 400).notNullable();
      // 0/1 as in NetServer (a 16-bit flag), not a boolean type: the same binding on every dialect.
      t.smallint('deleted').notNullable().defaultTo(0);
      utcColumn(t, dialect, 'registered').notNullable();
      utcColumn(t, dialect, 'updated').nullable();
    }),
  );
  if (dialect === 'mssql') {
    // SQL Server has no index on an expression without a computed column; uniqueness regardless of case comes from
    // the column collation, case-insensitive by default (as NetServer's own databases assume).
    steps.push(knex.raw('CREATE UNIQUE INDEX [ux_associate_name] ON [associate] ([name])'));
  } else {
    steps.push(knex.raw('CREATE UNIQUE INDEX ux_associate_name ON associate (lower(name))'));
  }

  steps.push(
    knex.schema.createTable('ticket', (t) => {
      // sha-256 hex of the ticket: the ticket itself is never stored.
      t.string('ticket_hash', 64).notNullable().primary();
      t.integer('associate_id').notNullable();
      utcColumn(t, dialect, 'created').notNullable();
      utcColumn(t, dialect, 'expires_at').notNullable();
      utcColumn(t, dialect, 'last_used').notNullable();
      t.foreign('associate_id', 'fk_ticket_associate').references('associate_id').inTable('associate').onDelete('CASCADE');
      t.index(['associate_id'], 'ix_ticket_associate');
      t.index(['expires_at'], 'ix_ticket_expires');
    }),
  );

  return steps;
}

export async function up(knex: Knex): Promise<void> {
  for (const step of coreSchema(knex)) await step;
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['ticket', 'associate', 'webhook_event', 'webhook_notify', 'webhook_usage', 'webhook']) {
    await knex.schema.dropTableIfExists(table);
  }
}
