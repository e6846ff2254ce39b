/**
 * A knex mssql client that records what it would send and never connects: knex's own SQL Server dialect (the same
 * query compiler, positional `@pN` parameters and transactions), with the tedious connection replaced by an object
 * that answers every request from `respond`. Used by check-tsql.ts to collect every statement the service can send
 * to SQL Server through the store itself, with no server.
 */
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import { knexConfig, type Database } from '../../src/store/db.js';

const require = createRequire(import.meta.url);
// knex's SQL Server client class (not part of knex's typed API).
const ClientMssql = require('knex/lib/dialects/mssql/index.js') as new (config: Knex.Config) => object;

/** What a statement sent got back: rows as plain objects, in column order. */
export type Responder = (sql: string) => Array<Record<string, unknown>>;

export interface RecordedStatement {
  /** The text as sent (knex's native form: `@p0`, `@p1`, ... for the bindings). */
  sql: string;
  bindings: unknown[];
}

interface KnexQuery { sql: string; bindings?: unknown[]; response?: unknown }

/** The tedious connection API knex's mssql transactions call, answered at once. */
function fakeConnection(): object {
  const done = (cb: (err?: Error) => void) => { cb(); };
  return {
    connected: true,
    inTransaction: true,
    state: { name: 'LoggedIn' },
    beginTransaction: done,
    commitTransaction: done,
    rollbackTransaction: done,
    saveTransaction: done,
    close() {},
    once() {},
    on() {},
  };
}

/** tedious' row shape, which knex's processResponse turns back into objects. */
const asTediousRow = (row: Record<string, unknown>) => Object.entries(row).map(([colName, value]) => ({ metadata: { colName }, value }));

export interface RecordingDatabase extends Database {
  readonly statements: RecordedStatement[];
  /** Replaces how statements are answered (default respondEmpty; `select @@rowcount` always answers 1). */
  respondWith(r: Responder): void;
}

export function recordingMssqlDatabase(): RecordingDatabase {
  const statements: RecordedStatement[] = [];
  let respond: Responder = respondEmpty;
  class RecordingClient extends (ClientMssql as new (config: Knex.Config) => Record<string, unknown>) {
    acquireRawConnection() { return Promise.resolve(fakeConnection()); }
    validateConnection() { return true; }
    destroyRawConnection() { return Promise.resolve(); }
    _query(_connection: unknown, query: KnexQuery) {
      statements.push({ sql: query.sql, bindings: query.bindings ?? [] });
      const rows = /select @@rowcount\s*$/i.test(query.sql) ? [{ '': 1 }] : respond(query.sql);
      query.response = rows.map(asTediousRow);
      return Promise.resolve(query);
    }
  }
  // The service's configuration for an mssql:// URL (migrations included), with the client swapped; the address is
  // never used (no connection is made).
  const config = knexConfig('mssql://recorder@127.0.0.1:1433/recorded', 1);
  const knex = knexFactory({ ...config, client: RecordingClient as unknown as typeof knexFactory.Client, connection: {} });
  // The store tells dialects apart by the configured client's name (row-mapping.ts dialectOfKnex).
  (knex.client as { config: Knex.Config }).config.client = 'mssql';
  return {
    knex,
    dialect: 'mssql',
    description: 'mssql (recording, no connection)',
    close: () => knex.destroy(),
    statements,
    respondWith(r) { respond = r; },
  };
}

/** Splits on commas outside parentheses, brackets and quotes. */
function splitTopLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (const ch of list) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[') quote = ']';
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * The column names and whether each is an aggregate, for the last SELECT of a statement (the one whose rows come
 * back); null when it has none or selects `*`.
 */
export function selectedColumns(sql: string): Array<{ name: string; aggregate: boolean }> | null {
  const flat = sql.replace(/\s+/g, ' ');
  const at = flat.toLowerCase().lastIndexOf('select ');
  if (at < 0) return null;
  let rest = flat.slice(at + 7).replace(/^(distinct |top \([^)]*\) )+/i, '');
  // The list ends at the first top-level FROM (or the end).
  let depth = 0;
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (depth === 0 && /^ from /i.test(rest.slice(i, i + 6))) { end = i; break; }
  }
  rest = rest.slice(0, end);
  const items = splitTopLevel(rest);
  if (items.length === 0 || items.some((i) => /(^|\.)\*$/.test(i))) return null;
  return items.map((item) => {
    const alias = /\bas\s+\[?([\w@$ ]+?)\]?\s*$/i.exec(item);
    const last = /\[?([\w@$]+)\]?\s*$/.exec(item);
    return { name: alias ? alias[1] : last ? last[1] : item, aggregate: /^(count|max|min|sum|avg)\s*\(/i.test(item) };
  });
}

/** No rows, except one row of zeros for a SELECT of aggregates only (a count or max of nothing still has a row). */
export const respondEmpty: Responder = (sql) => {
  const cols = selectedColumns(sql);
  if (!cols || !cols.every((c) => c.aggregate)) return [];
  return [Object.fromEntries(cols.map((c) => [c.name, 0]))];
};
