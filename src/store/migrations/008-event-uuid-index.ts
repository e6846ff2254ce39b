/**
 * 008-event-uuid-index: on SQL Server, `ux_wa_delivery_uuid` (002-outbox) becomes an ordinary unique index.
 * knex creates every unique index on SQL Server filtered (`WHERE [event_uuid] IS NOT NULL`), though event_uuid is
 * NOT NULL. A filtered index makes every INSERT and UPDATE of the table fail (Msg 1934) from a session with
 * ARITHABORT (or another of the required SET options) OFF, which older clients and some tools still use; an
 * unfiltered index has no such requirement and holds the same rows. PostgreSQL and SQLite: nothing to do.
 */
import type { Knex } from 'knex';
import { dialectOfKnex } from '../row-mapping.js';

/** The DDL (none outside SQL Server), so the generated SQL can be checked without a server. */
export function eventUuidIndexSchema(knex: Knex, filtered = false): Knex.Raw[] {
  if (dialectOfKnex(knex) !== 'mssql') return [];
  return [
    knex.raw('DROP INDEX [ux_wa_delivery_uuid] ON [wa_delivery]'),
    knex.raw(`CREATE UNIQUE INDEX [ux_wa_delivery_uuid] ON [wa_delivery] ([event_uuid])${filtered ? ' WHERE [event_uuid] IS NOT NULL' : ''}`),
  ];
}

export async function up(knex: Knex): Promise<void> {
  for (const step of eventUuidIndexSchema(knex)) await step;
}

export async function down(knex: Knex): Promise<void> {
  for (const step of eventUuidIndexSchema(knex, true)) await step;
}
