/**
 * Small helpers shared by the repositories: what a repository function accepts as its database argument, and how
 * driver values (which differ per dialect) become domain values.
 */
import type { Knex } from 'knex';
import { ARRAY_ROWS_MARK, type Database, type Dialect } from './database.js';
import { AppError, isIdentityExhausted } from '../errors.js';
import { isXsInt, XS_INT_MAX } from '../webhooks/xs-int.js';

/**
 * A repository's database argument: the opened Database, its knex, or a transaction the caller holds (then the
 * function joins it instead of opening its own, so outbox writes can share the caller's transaction).
 */
export type Queryable = Database | Knex | Knex.Transaction;

export function knexOf(q: Queryable): Knex {
  return typeof q === 'function' ? q : q.knex;
}

/**
 * The dialect of a knex instance or transaction, from its client name: the one check every dialect decision
 * starts from. An unknown client throws instead of being taken for PostgreSQL, whose SQL it would then get.
 */
export function dialectOfKnex(k: Knex): Dialect {
  const client = String(k.client.config.client);
  if (client === 'better-sqlite3' || client === 'sqlite3' || client === 'sqlite') return 'sqlite';
  if (client === 'mssql') return 'mssql';
  if (client === 'pg' || client === 'postgres' || client === 'postgresql') return 'pg';
  throw new Error(`unsupported database client "${client}": expected better-sqlite3, pg or mssql`);
}

/**
 * Runs a SELECT and returns its rows as arrays of column values in select order. Wide rows cost far less this way
 * than as objects: better-sqlite3 builds a 31-column row object at about 2.5 times the cost of the array (measured
 * on the webhook read), and reading fields by index is cheaper than by name. SQLite: raw-mode statements (db.ts
 * ARRAY_ROWS_MARK); PostgreSQL: node-postgres's rowMode 'array'; SQL Server: the driver's row objects, read in
 * column order (every selected column must have its own name).
 */
export async function selectArrays(k: Knex, sql: string, bindings: ReadonlyArray<string | number>): Promise<unknown[][]> {
  const values = bindings as Array<string | number>;
  switch (dialectOfKnex(k)) {
    case 'sqlite':
      return (await k.raw(ARRAY_ROWS_MARK + sql, values)) as unknown[][];
    case 'pg':
      return ((await k.raw(sql, values).options({ rowMode: 'array' })) as { rows: unknown[][] }).rows;
    default:
      return ((await k.raw(sql, values)) as Array<Record<string, unknown>>).map((r) => Object.values(r));
  }
}

function isTransaction(k: Knex): k is Knex.Transaction {
  return (k as unknown as Partial<Knex.Transaction>).isTransaction === true;
}

/** Runs fn in the caller's transaction when given one, otherwise in a new one. */
export async function withTransaction<T>(q: Queryable, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const k = knexOf(q);
  if (isTransaction(k)) return fn(k);
  return k.transaction(fn);
}

/**
 * A time column as a Date. pg and mssql return Dates; SQLite returns what was stored: epoch milliseconds (knex's
 * better-sqlite3 binding of a Date) or, for rows written by other tools, text without a zone, which is UTC here.
 */
export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') {
    const s = value.trim();
    if (s === '') return null;
    if (/^-?\d+(\.\d+)?$/.test(s)) return new Date(Number(s));
    const iso = s.replace(' ', 'T');
    const withZone = /(Z|[+-]\d\d:?\d\d)$/i.test(iso) ? iso : `${iso}Z`;
    const d = new Date(withZone);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

/** Like toDate, for NOT NULL columns. */
export function toRequiredDate(value: unknown): Date {
  return toDate(value) ?? new Date(0);
}

/** Integers come back as strings from pg for count()/bigint. */
export function toInt(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return 0;
}

/** Keeps `IN (...)` lists under SQL Server's 2100-parameter limit. */
export function chunked<T>(items: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Unique-constraint violations, per driver. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; number?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (e.code === '23505') return true; // pg
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  if (e.number === 2601 || e.number === 2627) return true; // mssql
  return typeof e.message === 'string' && /UNIQUE constraint failed/.test(e.message);
}

/** Parameters per statement we allow ourselves: SQL Server refuses more than 2100. */
export const MAX_BINDINGS = 2000;

/** knex writes a multi-row INSERT on SQLite as a compound SELECT, which SQLite caps at 500 terms. */
export const MAX_ROWS_PER_INSERT = 500;

/** Rows per multi-row INSERT for rows of columnCount columns: under MAX_BINDINGS and MAX_ROWS_PER_INSERT. */
export function rowsPerInsert(columnCount: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_BINDINGS / Math.max(1, columnCount))));
}

/** Multi-row INSERT of rows (all with the same columns), split to stay under the dialects' limits. */
export async function insertInChunks(k: Knex, table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  for (const part of chunked(rows, rowsPerInsert(Object.keys(rows[0]).length))) await k(table).insert(part);
}

/**
 * Inserts a row into an int identity table and returns the id it got, which the contract types as xs:int: an id
 * the sequence cannot hand out inside that range is AppError('not_supported') naming the table, thrown inside the
 * caller's transaction so nothing is kept (never a commit of a row no client can read).
 */
export async function insertedXsIntId(table: string, insert: () => Promise<number>): Promise<number> {
  let id: number;
  try {
    id = await insert();
  } catch (err) {
    if (isIdentityExhausted(err)) throw idsUsedUp(table, err);
    throw err;
  }
  if (!isXsInt(id)) throw idsUsedUp(table);
  return id;
}

function idsUsedUp(table: string, cause?: unknown): AppError {
  return new AppError('not_supported', `No ${table} id is left: the next one would be beyond ${XS_INT_MAX}, the largest an xs:int ` +
    'holds, so nothing was saved', { cause });
}
