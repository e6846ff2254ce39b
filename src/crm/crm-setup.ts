/**
 * `webhook-agent crm-events setup --from URL [--apply]`: the statements that make a CRM database readable by the
 * CRM event source, per engine. Printed for a DBA to review (the default), or run with --apply by a login that
 * may (PostgreSQL: the tables' owner or a superuser; SQL Server: db_owner).
 *
 * PostgreSQL (logical replication, pgoutput):
 *   - REPLICA IDENTITY FULL on each table, so an update carries the old row (which columns changed, the special
 *     verbs) and a delete the whole row (Values, ChangedByAssociateId);
 *   - a publication on the tables;
 *   - the replication slot, created now: events start from its creation (the reader creates it too if missing);
 *   - the reader's role needs the REPLICATION attribute; wal_level must be logical.
 * SQL Server (Change Tracking):
 *   - Change Tracking on the database (with a retention) and on each table with TRACK_COLUMNS_UPDATED, so the
 *     reader knows which columns an update changed; snapshot isolation, so one poll reads one consistent version;
 *   - VIEW CHANGE TRACKING and SELECT on each table for the reader's user.
 */
import { crmTables } from './crm-families.js';

export interface SetupOptions {
  schema: string;
  tables?: readonly string[];
}

export interface PgSetupOptions extends SetupOptions {
  publication: string;
  slot: string;
  /** The role the reader connects as (gets REPLICATION). */
  role?: string;
}

export interface MssqlSetupOptions extends SetupOptions {
  database: string;
  /** The database user the reader connects as. */
  user?: string;
  retentionDays?: number;
}

/** A statement and why it is there (printed as a comment above it). */
export interface SetupStatement {
  why: string;
  sql: string;
}

const pgId = (id: string) => `"${id.replace(/"/g, '""')}"`;
const msId = (id: string) => `[${id.replace(/]/g, ']]')}]`;
const pgLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function pgSetupStatements(o: PgSetupOptions): SetupStatement[] {
  const tables = o.tables ?? crmTables;
  const qualified = tables.map((t) => `${pgId(o.schema)}.${pgId(t)}`);
  const out: SetupStatement[] = qualified.map((q) => ({
    why: 'updates carry the old row, deletes all of it',
    sql: `alter table ${q} replica identity full`,
  }));
  out.push({ why: 'the tables whose changes are read', sql: `create publication ${pgId(o.publication)} for table ${qualified.join(', ')}` });
  if (o.role) out.push({ why: 'the reader opens a replication connection', sql: `alter role ${pgId(o.role)} replication` });
  out.push({
    why: 'events start from here; the slot holds WAL until the reader confirms it (drop it if the reader is retired)',
    sql: `select pg_create_logical_replication_slot(${pgLiteral(o.slot)}, 'pgoutput')`,
  });
  return out;
}

export function mssqlSetupStatements(o: MssqlSetupOptions): SetupStatement[] {
  const days = o.retentionDays ?? 7;
  const tables = o.tables ?? crmTables;
  const out: SetupStatement[] = [
    {
      why: `keeps changes ${days} days: a reader stopped longer must resynchronise (crm-events reset)`,
      sql: `alter database ${msId(o.database)} set change_tracking = on (change_retention = ${days} days, auto_cleanup = on)`,
    },
    { why: 'one poll reads one consistent version', sql: `alter database ${msId(o.database)} set allow_snapshot_isolation on` },
  ];
  for (const t of tables) {
    out.push({
      why: 'which columns an update changed',
      sql: `alter table ${msId(o.schema)}.${msId(t)} enable change_tracking with (track_columns_updated = on)`,
    });
  }
  if (o.user) {
    for (const t of tables) {
      out.push({ why: 'the reader reads the changes and the rows', sql: `grant view change tracking, select on ${msId(o.schema)}.${msId(t)} to ${msId(o.user)}` });
    }
  }
  return out;
}

/** The statements as a script: each preceded by its reason, `;`-terminated (PostgreSQL) or with GO (SQL Server). */
export function setupScript(statements: readonly SetupStatement[], engine: 'pg' | 'mssql'): string {
  return statements.map((s) => `-- ${s.why}\n${s.sql}${engine === 'pg' ? ';' : '\nGO'}\n`).join('');
}
