/**
 * Reads a NetServer database's webhook tables (`webhook`, `webhook_usage`, `webhook_notify`) and the `associate` rows
 * they name, for `import netserver`. Read-only.
 *
 * The tables live in the schema named by NetServer's TablePrefix (default crm7). The same schema-qualified SQL runs
 * on every source dialect: SQL Server and PostgreSQL have real schemas; a SQLite file is ATTACHed to an in-memory
 * connection under the schema name, so a file holding the tables unprefixed reads as `crm7.webhook` too.
 *
 * Rows are read with `select *` and columns looked up by lower-cased name, so older NetServer versions (without
 * errors_email, description, notify_via, notify_when or the webhook_notify table) and PostgreSQL's folded
 * identifiers read the same. Times are UTC ("UtcDateTime"): SQL Server's driver reads datetime as UTC, PostgreSQL
 * `timestamp` (without zone) is parsed as UTC here, SQLite text is UTC by toDate's rule.
 */
import { existsSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { redactUrl } from '../config.js';
import { dialectOf, mssqlConnection, sqliteFile, type Dialect } from './db.js';
import { chunked, toDate, toInt } from './row-mapping.js';

export interface SourceAudit {
  registered: Date | null;
  registeredAssociateId: number;
  updated: Date | null;
  updatedAssociateId: number;
  updatedCount: number;
}

export interface SourceWebhook extends SourceAudit {
  webhookId: number;
  name: string | null;
  /** The comma list as stored. */
  events: string | null;
  targetUrl: string | null;
  type: string | null;
  applicationToken: string | null;
  headers: string | null;
  properties: string | null;
  secret: string | null;
  state: number;
  errorsEmail: string | null;
  description: string | null;
  notifyVia: number;
  notifyWhen: number;
}

export interface SourceUsage extends SourceAudit {
  webhookId: number;
  totalCalls: number;
  totalErrors: number;
  consecutiveErrors: number;
  lastError: string | null;
}

export interface SourceNotify extends SourceAudit {
  notifyId: number;
  webhookId: number;
  associateId: number;
  emailRecipient: string | null;
}

export interface SourceAssociate {
  associateId: number;
  /** `name`: "Initials, also login name". */
  name: string;
  /** `userName`: "Associate user name" ('' when the column is empty or absent). */
  userName: string;
  personId: number;
  deleted: boolean;
  /** From the person table when it is there (firstname middleName lastname, as Associate.FullName), else ''. */
  fullName: string;
}

export interface NetServerSnapshot {
  webhooks: SourceWebhook[];
  usage: SourceUsage[];
  notify: SourceNotify[];
  /** The associates named by the webhook and notify rows that exist in the source. */
  associates: SourceAssociate[];
  /** Tables the source lacks (older NetServer versions): read as empty. */
  missingTables: string[];
}

export interface NetServerSource {
  readonly dialect: Dialect;
  readonly description: string;
  read(): Promise<NetServerSnapshot>;
  close(): Promise<void>;
}

type Row = Record<string, unknown>;

/** A row keyed by lower-cased column name. */
function lowerKeys(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = v;
  return out;
}

const text = (v: unknown): string | null => (v == null ? null : typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/**
 * NetServer's time columns are NOT NULL: a row never updated holds an "empty" date (DateTime.MinValue, SQL Server's
 * 1753-01-01 or 1900-01-01 depending on who wrote it). Anything up to 1900-01-01 reads as no time.
 */
const emptyDateBefore = Date.UTC(1900, 0, 1, 0, 0, 1);
function timeOrNull(v: unknown): Date | null {
  const d = toDate(v);
  return d === null || Number.isNaN(d.getTime()) || d.getTime() < emptyDateBefore ? null : d;
}

function audit(r: Row): SourceAudit {
  return {
    registered: timeOrNull(r.registered),
    registeredAssociateId: toInt(r.registered_associate_id),
    updated: timeOrNull(r.updated),
    updatedAssociateId: toInt(r.updated_associate_id),
    updatedCount: toInt(r.updatedcount),
  };
}

/** Rows per read of the three webhook tables: a large source is read (and mapped) a page at a time, by key. */
export const SOURCE_PAGE_ROWS = 1000;

/** Where a page starts: after the last key read (null: from the first row), at most `limit` rows. */
export interface SourcePage<K> {
  after: K | null;
  limit: number;
}

/** The source statements, exported so their SQL can be checked per dialect without a server. */
export const sourceQueries = {
  webhooks: (k: Knex, schema: string, page?: SourcePage<unknown>) => {
    const q = k.withSchema(schema).from('webhook').select('*').orderBy('webhook_id');
    if (page?.after != null) q.where('webhook_id', '>', page.after as number);
    return page ? q.limit(page.limit) : q;
  },
  usage: (k: Knex, schema: string, page?: SourcePage<unknown>) => {
    const q = k.withSchema(schema).from('webhook_usage').select('*').orderBy('webhook_usage_id');
    if (page?.after != null) q.where('webhook_usage_id', '>', page.after as number);
    return page ? q.limit(page.limit) : q;
  },
  notify: (k: Knex, schema: string, page?: SourcePage<{ webhookId: unknown; notifyId: unknown }>) => {
    const q = k.withSchema(schema).from('webhook_notify').select('*').orderBy([{ column: 'webhook_id' }, { column: 'webhook_notify_id' }]);
    const after = page?.after;
    if (after != null) {
      q.where((w) => w.where('webhook_id', '>', after.webhookId as number)
        .orWhere((x) => x.where('webhook_id', after.webhookId as number).andWhere('webhook_notify_id', '>', after.notifyId as number)));
    }
    return page ? q.limit(page.limit) : q;
  },
  associates: (k: Knex, schema: string, ids: number[]) =>
    k.withSchema(schema).from('associate').select('*').whereIn('associate_id', ids).orderBy('associate_id'),
  // Every column: middleName is not in every NetServer version's person table.
  persons: (k: Knex, schema: string, ids: number[]) => k.withSchema(schema).from('person').select('*').whereIn('person_id', ids),
  /** Whether a table exists: a select that returns no rows, failing when the table is not there. */
  probe: (k: Knex, schema: string, table: string) => k.withSchema(schema).from(table).select('*').whereRaw('1 = 0'),
};

/** PostgreSQL `timestamp` (no zone, oid 1114) holds UTC in a NetServer database; pg's default would read local time. */
const pgUtcTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 1114 ? (s: string) => new Date(`${s.replace(' ', 'T')}Z`) : pg.types.getTypeParser(oid, format as 'text'),
};

function sourceKnex(url: string, schema: string): Knex {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') {
    const file = sqliteFile(url);
    // ATTACH would create a missing file; a typo must not import "nothing" successfully.
    if (file === ':memory:' || !existsSync(file)) throw new Error(`the NetServer SQLite file ${file} does not exist`);
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { prepare(sql: string): { run(...a: unknown[]): unknown } }, done: (e: Error | null, c: unknown) => void) => {
          try {
            conn.prepare(`ATTACH DATABASE ? AS "${schema.replace(/"/g, '""')}"`).run(file);
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
  }
  if (dialect === 'pg') {
    return knexFactory({ client: 'pg', connection: { connectionString: url, types: pgUtcTypes } as never, pool: { min: 0, max: 1 } });
  }
  return knexFactory({ client: 'mssql', connection: mssqlConnection(url), pool: { min: 0, max: 1 } });
}

export function openNetServerSource(url: string, schema = 'crm7', opts: { pageRows?: number } = {}): NetServerSource {
  const pageRows = opts.pageRows ?? SOURCE_PAGE_ROWS;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(schema)) throw new Error(`--schema must be a plain identifier (got '${schema}')`);
  const k = sourceKnex(url, schema);
  const dialect = dialectOf(url);

  async function exists(table: string): Promise<boolean> {
    try {
      await sourceQueries.probe(k, schema, table);
      return true;
    } catch {
      return false;
    }
  }

  async function read(): Promise<NetServerSnapshot> {
    if (!(await exists('webhook'))) {
      throw new Error(`no table ${schema}.webhook in ${redactUrl(url)}: is --schema the NetServer TablePrefix (default crm7)?`);
    }
    const missingTables: string[] = [];
    /** Every row of a table, read a page at a time and mapped page by page (only the mapped rows are kept). */
    async function paged<K, T>(read: (page: SourcePage<K>) => Knex.QueryBuilder, keyOf: (r: Row) => K, map: (r: Row) => T): Promise<T[]> {
      const out: T[] = [];
      for (let after: K | null = null; ;) {
        const rows = ((await read({ after, limit: pageRows })) as Row[]).map(lowerKeys);
        for (const r of rows) out.push(map(r));
        if (rows.length < pageRows) return out;
        after = keyOf(rows[rows.length - 1]);
      }
    }
    const optional = async <K, T>(table: string, read: (page: SourcePage<K>) => Knex.QueryBuilder, keyOf: (r: Row) => K, map: (r: Row) => T) => {
      if (await exists(table)) return paged(read, keyOf, map);
      missingTables.push(table);
      return [];
    };
    const webhooks = await paged((p) => sourceQueries.webhooks(k, schema, p), (r) => r.webhook_id, (r): SourceWebhook => ({
      ...audit(r),
      webhookId: toInt(r.webhook_id),
      name: text(r.name),
      events: text(r.events),
      targetUrl: text(r.target_url),
      type: text(r.type),
      applicationToken: text(r.application_token),
      headers: text(r.headers),
      properties: text(r.properties),
      secret: text(r.secret),
      state: toInt(r.state),
      errorsEmail: text(r.errors_email),
      description: text(r.description),
      notifyVia: toInt(r.notify_via),
      notifyWhen: toInt(r.notify_when),
    }));
    const usage = await optional('webhook_usage', (p) => sourceQueries.usage(k, schema, p), (r) => r.webhook_usage_id, (r): SourceUsage => ({
      ...audit(r),
      webhookId: toInt(r.webhook_usage_id),
      totalCalls: toInt(r.total_calls),
      totalErrors: toInt(r.total_errors),
      consecutiveErrors: toInt(r.consecutive_errors),
      lastError: text(r.last_error),
    }));
    const notify = await optional('webhook_notify', (p: SourcePage<{ webhookId: unknown; notifyId: unknown }>) => sourceQueries.notify(k, schema, p),
      (r) => ({ webhookId: r.webhook_id, notifyId: r.webhook_notify_id }), (r): SourceNotify => ({
      ...audit(r),
      notifyId: toInt(r.webhook_notify_id),
      webhookId: toInt(r.webhook_id),
      associateId: toInt(r.associate_id),
      emailRecipient: text(r.email_recipient),
    }));

    const hookIds = new Set(webhooks.map((w) => w.webhookId));
    const wanted = new Set<number>();
    for (const w of webhooks) [w.registeredAssociateId, w.updatedAssociateId].forEach((id) => wanted.add(id));
    for (const n of notify) if (hookIds.has(n.webhookId)) wanted.add(n.associateId);
    const ids = [...wanted].filter((id) => id > 0).sort((a, b) => a - b);
    const associateRows: Row[] = [];
    if (ids.length && (await exists('associate'))) {
      for (const part of chunked(ids)) associateRows.push(...((await sourceQueries.associates(k, schema, part)) as Row[]).map(lowerKeys));
    } else if (ids.length) missingTables.push('associate');

    const personIds = [...new Set(associateRows.map((r) => toInt(r.person_id)).filter((id) => id > 0))];
    const fullNames = new Map<number, string>();
    if (personIds.length && (await exists('person'))) {
      for (const part of chunked(personIds)) {
        for (const p of ((await sourceQueries.persons(k, schema, part)) as Row[]).map(lowerKeys)) {
          const parts = [text(p.firstname), text(p.middlename), text(p.lastname)].map((s) => (s ?? '').trim()).filter((s) => s !== '');
          fullNames.set(toInt(p.person_id), parts.join(' '));
        }
      }
    }
    const associates = associateRows.map((r): SourceAssociate => ({
      associateId: toInt(r.associate_id),
      name: (text(r.name) ?? '').trim(),
      userName: (text(r.username) ?? '').trim(),
      personId: toInt(r.person_id),
      deleted: toInt(r.deleted) !== 0,
      fullName: fullNames.get(toInt(r.person_id)) ?? '',
    }));
    return { webhooks, usage, notify, associates, missingTables };
  }

  return { dialect, description: redactUrl(url), read, close: () => k.destroy() };
}
