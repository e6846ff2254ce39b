/**
 * 005-names: login and event names compare the same way on every dialect and every database collation, and an
 * associate keeps NetServer's user name.
 *
 * - Login names are unique and looked up regardless of case through `associate.name_key`, a normalised copy of
 *   `name` written by the service (loginNameKey below), compared byte for byte. Before, SQLite and PostgreSQL used
 *   an index on lower(name) (PostgreSQL's lower() folds only what the database's locale knows) and SQL Server the
 *   column's collation: under a case-sensitive collation `Admin` and `admin` could both exist and a login picked one
 *   of them; under an accent-insensitive one `Åse` and `Ase` were the same user.
 * - Event names match exactly (NetServer documents them as exact `entity.verb` names; notes/netserver-contract.md
 *   item 14). SQL Server compared `webhook_event.event_name` with the database collation, case-insensitively by
 *   default: a hook with Events `a.b` and `A.B` failed to save (duplicate key) and SignalEvent matched regardless of
 *   case there only. The column gets a binary collation (Latin1_General_100_BIN2) on SQL Server; SQLite (BINARY) and
 *   PostgreSQL (deterministic collations only) already compare exactly.
 *
 * Both keys are compared with `=`, and SQL Server ignores trailing spaces in `=` even under a binary collation: event
 * names and login names are stored trimmed, so no two stored values differ only in trailing spaces.
 *
 * - `associate.user_name`: NetServer's `userName` column for imported associates (the login name, `name`, is
 *   NetServer's initials); null for associates created here, whose UserName is their login name.
 *
 * Existing associates that share a key (possible under a case-sensitive SQL Server collation) stop the migration with
 * a message naming them, since a login could not tell them apart: rename one and migrate again.
 */
import type { Knex } from 'knex';
import { dialectOfKnex as dialectOf } from '../row-mapping.js';

/** The binary collation SQL Server columns compared exactly get. */
export const MSSQL_EXACT_COLLATION = 'Latin1_General_100_BIN2';

/**
 * The key a login name is unique and found by: trimmed, Unicode NFC, lower-cased by JavaScript's full Unicode case
 * mapping. Fixed by this migration (it computed the stored keys): changing it needs a migration that recomputes them.
 */
export function loginNameKey(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
}

/** webhook_event.event_name with the given collation clause (SQL Server: the key and its index are rebuilt). */
function mssqlEventNameColumn(knex: Knex, collate: string): Knex.Raw[] {
  return [
    knex.raw('ALTER TABLE [webhook_event] DROP CONSTRAINT [pk_webhook_event]'),
    knex.raw('DROP INDEX [ix_webhook_event_event] ON [webhook_event]'),
    knex.raw(`ALTER TABLE [webhook_event] ALTER COLUMN [event_name] nvarchar(400)${collate} NOT NULL`),
    knex.raw('ALTER TABLE [webhook_event] ADD CONSTRAINT [pk_webhook_event] PRIMARY KEY ([webhook_id], [event_name])'),
    knex.raw('CREATE INDEX [ix_webhook_event_event] ON [webhook_event] ([event_name], [webhook_id])'),
  ];
}

/** The DDL before the keys are filled in, so the generated SQL can be checked per dialect without a server. */
export function caseRulesSchemaBefore(knex: Knex): Knex.Raw[] {
  const dialect = dialectOf(knex);
  if (dialect === 'mssql') {
    return [
      ...mssqlEventNameColumn(knex, ` COLLATE ${MSSQL_EXACT_COLLATION}`),
      knex.raw(`ALTER TABLE [associate] ADD [name_key] nvarchar(200) COLLATE ${MSSQL_EXACT_COLLATION} NULL`),
      knex.raw('ALTER TABLE [associate] ADD [user_name] nvarchar(200) NULL'),
    ];
  }
  return [knex.raw('alter table associate add column name_key varchar(200) null'), knex.raw('alter table associate add column user_name varchar(200) null')];
}

/** The DDL after the keys are filled in. */
export function caseRulesSchemaAfter(knex: Knex): Knex.Raw[] {
  if (dialectOf(knex) === 'mssql') {
    return [
      knex.raw('DROP INDEX [ux_associate_name] ON [associate]'),
      knex.raw('CREATE UNIQUE INDEX [ux_associate_name_key] ON [associate] ([name_key])'),
    ];
  }
  return [knex.raw('drop index ux_associate_name'), knex.raw('create unique index ux_associate_name_key on associate (name_key)')];
}

/** Fills name_key for every associate; refuses names that only a case-sensitive collation kept apart. */
async function fillLoginNameKeys(knex: Knex): Promise<void> {
  const rows = (await knex('associate').select('associate_id', 'name').orderBy('associate_id')) as Array<{ associate_id: unknown; name: string }>;
  const byKey = new Map<string, Array<{ id: number; name: string }>>();
  for (const r of rows) {
    const key = loginNameKey(r.name);
    byKey.set(key, [...(byKey.get(key) ?? []), { id: Number(r.associate_id), name: r.name }]);
  }
  const clashes = [...byKey.values()].filter((list) => list.length > 1);
  if (clashes.length) {
    const named = clashes.map((list) => list.map((a) => `'${a.name}' (id ${a.id})`).join(' and ')).join('; ');
    throw new Error(`associates whose login names differ only in case (or Unicode form) cannot be told apart at login: ${named}. ` +
      'Rename all but one of each (in the associate table) and run the migration again');
  }
  for (const [key, [a]] of byKey) await knex('associate').where('associate_id', a.id).update({ name_key: key });
}

export async function up(knex: Knex): Promise<void> {
  for (const step of caseRulesSchemaBefore(knex)) await step;
  await fillLoginNameKeys(knex);
  for (const step of caseRulesSchemaAfter(knex)) await step;
}

export async function down(knex: Knex): Promise<void> {
  if (dialectOf(knex) === 'mssql') {
    await knex.raw('DROP INDEX [ux_associate_name_key] ON [associate]');
    await knex.raw('ALTER TABLE [associate] DROP COLUMN [name_key], [user_name]');
    await knex.raw('CREATE UNIQUE INDEX [ux_associate_name] ON [associate] ([name])');
    for (const step of mssqlEventNameColumn(knex, '')) await step;
    return;
  }
  await knex.raw('drop index ux_associate_name_key');
  await knex.raw('alter table associate drop column name_key');
  await knex.raw('alter table associate drop column user_name');
  await knex.raw('create unique index ux_associate_name on associate (lower(name))');
}
