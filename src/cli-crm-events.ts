/**
 * `webhook-agent crm-events setup --from URL [--apply]`: prints (or runs) what the CRM database needs before the
 * CRM event source can read it (crm/crm-setup.ts has the statements and why each is there). The engine follows
 * the URL: postgres:// (logical replication) or mssql:// (Change Tracking).
 */
import type { Command } from 'commander';
import knexFactory, { type Knex } from 'knex';
import { redactUrl } from './config.js';
import { mssqlConnection } from './store/db.js';
import { crmEngineOf } from './crm/crm-source.js';
import { crmTables } from './crm/crm-families.js';
import { mssqlSetupStatements, pgSetupStatements, setupScript, type SetupStatement } from './crm/crm-setup.js';

export interface SetupCommandOptions {
  from: string;
  apply?: boolean;
  schema: string;
  publication: string;
  slot: string;
  /** The login the reader uses (default: the URL's user). */
  reader?: string;
  retentionDays: number;
}

function urlUser(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).username) || undefined;
  } catch {
    return undefined;
  }
}

function mssqlDatabase(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error('the mssql:// URL must name the CRM database (mssql://user@host:1433/SuperOffice)');
  return name;
}

/** The statements for the URL's engine and the options. */
export function setupStatementsFor(o: SetupCommandOptions): { engine: 'pg' | 'mssql'; statements: SetupStatement[] } {
  const engine = crmEngineOf(o.from);
  const reader = o.reader ?? urlUser(o.from);
  const statements = engine === 'pg'
    ? pgSetupStatements({ schema: o.schema, publication: o.publication, slot: o.slot, role: reader })
    : mssqlSetupStatements({ schema: o.schema, database: mssqlDatabase(o.from), user: reader, retentionDays: o.retentionDays });
  return { engine, statements };
}

/** --apply on PostgreSQL: only the tables that exist; what is already there is left as it is. */
async function applyPg(k: Knex, o: SetupCommandOptions, say: (s: string) => void): Promise<void> {
  const wal = String((await k.raw('show wal_level')).rows[0].wal_level);
  if (wal !== 'logical') throw new Error(`wal_level is ${wal}: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL first`);
  const present = new Set(((await k.raw('select table_name from information_schema.tables where table_schema = ?', [o.schema])).rows as Array<{ table_name: string }>)
    .map((r) => r.table_name));
  const tables = crmTables.filter((t) => present.has(t));
  const missing = crmTables.filter((t) => !present.has(t));
  if (tables.length === 0) throw new Error(`none of the CRM tables (${crmTables.join(', ')}) is in schema ${o.schema}`);
  if (missing.length) say(`-- not in schema ${o.schema}, left out: ${missing.join(', ')}\n`);
  const reader = o.reader ?? urlUser(o.from);
  const role = reader ? (await k.raw('select rolreplication or rolsuper as ok from pg_roles where rolname = ?', [reader])).rows[0] : undefined;
  const hasPublication = (await k.raw('select 1 from pg_publication where pubname = ?', [o.publication])).rows.length > 0;
  const hasSlot = (await k.raw('select 1 from pg_replication_slots where slot_name = ?', [o.slot])).rows.length > 0;
  for (const s of pgSetupStatements({ schema: o.schema, publication: o.publication, slot: o.slot, role: role && !role.ok ? reader : undefined, tables })) {
    let sql = s.sql;
    if (sql.startsWith('create publication') && hasPublication) sql = sql.replace(/^create publication (\S+) for table/, 'alter publication $1 set table');
    if (sql.includes('pg_create_logical_replication_slot') && hasSlot) {
      say(`-- slot ${o.slot} exists: kept (events continue from its position)\n`);
      continue;
    }
    say(`${sql};\n`);
    await k.raw(sql);
  }
}

/** --apply on SQL Server: Change Tracking where it is not on yet, the grants always. */
async function applyMssql(k: Knex, o: SetupCommandOptions, say: (s: string) => void): Promise<void> {
  const database = mssqlDatabase(o.from);
  const present = new Set((await k.raw('select t.name from sys.tables t join sys.schemas s on s.schema_id = t.schema_id where s.name = ?', [o.schema]) as Array<{ name: string }>)
    .map((r) => r.name.toLowerCase()));
  const tables = crmTables.filter((t) => present.has(t));
  if (tables.length === 0) throw new Error(`none of the CRM tables (${crmTables.join(', ')}) is in schema ${o.schema}`);
  const dbOn = (await k.raw('select 1 as x from sys.change_tracking_databases where database_id = db_id()') as unknown[]).length > 0;
  const tracked = new Set((await k.raw(`select lower(t.name) as name from sys.change_tracking_tables c join sys.tables t on t.object_id = c.object_id
    join sys.schemas s on s.schema_id = t.schema_id where s.name = ?`, [o.schema]) as Array<{ name: string }>).map((r) => r.name));
  for (const s of mssqlSetupStatements({ schema: o.schema, database, user: o.reader ?? urlUser(o.from), retentionDays: o.retentionDays, tables })) {
    if (dbOn && /set change_tracking = on/.test(s.sql)) continue;
    const table = /alter table \[[^\]]+\]\.\[([^\]]+)\] enable change_tracking/.exec(s.sql)?.[1];
    if (table && tracked.has(table.toLowerCase())) continue;
    say(`${s.sql}\n`);
    await k.raw(s.sql);
  }
}

export async function runSetup(o: SetupCommandOptions, say: (s: string) => void): Promise<void> {
  const { engine, statements } = setupStatementsFor(o);
  if (!o.apply) {
    say(`-- CRM events: what ${redactUrl(o.from)} needs (${engine === 'pg' ? 'PostgreSQL logical replication' : 'SQL Server Change Tracking'}).\n`);
    say(`-- Review, then run it as ${engine === 'pg' ? 'the tables\' owner or a superuser' : 'db_owner'}, or rerun with --apply.\n`);
    if (engine === 'pg') say('-- Needs wal_level = logical (ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL).\n');
    say(setupScript(statements, engine));
    return;
  }
  const k = knexFactory(engine === 'pg' ? { client: 'pg', connection: o.from, pool: { min: 0, max: 1 } }
    : { client: 'mssql', connection: mssqlConnection(o.from), pool: { min: 0, max: 1 } });
  try {
    await (engine === 'pg' ? applyPg(k, o, say) : applyMssql(k, o, say));
    say('-- done\n');
  } finally {
    await k.destroy();
  }
}

export function registerCrmEventsCommands(program: Command): void {
  const crm = program.command('crm-events').description('the CRM event source (CRM_EVENTS_URL): NetServer\'s entity events from the CRM database');
  crm.command('setup').description('print (or with --apply run) the statements that make the CRM database readable')
    .requiredOption('--from <url>', 'the CRM database: postgres://… or mssql://…')
    .option('--apply', 'run the statements instead of printing them')
    .option('--schema <name>', 'schema of the CRM tables', 'crm7')
    .option('--publication <name>', 'PostgreSQL: publication name', 'webhook_agent_crm')
    .option('--slot <name>', 'PostgreSQL: replication slot name', 'webhook_agent')
    .option('--reader <login>', 'the login the reader connects as (default: the URL\'s user)')
    .option('--retention-days <n>', 'SQL Server: Change Tracking retention in days', (v) => Number.parseInt(v, 10), 7)
    .action(async (opts: Omit<SetupCommandOptions, 'from'> & { from: string }) => {
      try {
        await runSetup(opts, (s) => process.stdout.write(s));
      } catch (err) {
        process.stderr.write(`crm-events setup: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
