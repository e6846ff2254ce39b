/**
 * Direct SQL on the service's SQLite file with better-sqlite3 (no knex, no service code): the oracle for
 * consistency checks. better-sqlite3 ships no type declarations, hence the small interface.
 */
import { createRequire } from 'node:module';

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): Array<Record<string, unknown>>;
  get(...params: unknown[]): Record<string, unknown> | undefined;
}

export interface SqliteDb {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
  pragma(p: string): unknown;
  close(): void;
}

const require = createRequire(import.meta.url);
const BetterSqlite3 = require('better-sqlite3') as new (file: string, opts?: { readonly?: boolean; fileMustExist?: boolean }) => SqliteDb;

export function openSqlite(file: string, opts: { readonly?: boolean } = {}): SqliteDb {
  const db = new BetterSqlite3(file, { fileMustExist: true, ...opts });
  db.pragma('busy_timeout = 10000');
  return db;
}
