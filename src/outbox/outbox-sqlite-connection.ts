/**
 * Direct use of the SQLite pool's single better-sqlite3 connection, for the statements that must run
 * synchronously inside one BEGIN IMMEDIATE (claims) or are hot enough that knex's per-query overhead matters
 * (outbox-sqlite.ts). Statements are prepared once per connection.
 */
import type { Knex } from 'knex';

export interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
}

export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  /** Called inside another transaction, the returned function runs in a savepoint. */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): ((...args: A) => T) & { immediate(...args: A): T };
}

const statements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

/** A prepared statement, cached per connection. */
export function statement(conn: SqliteConnection, sql: string): SqliteStatement {
  let cache = statements.get(conn);
  if (!cache) statements.set(conn, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = conn.prepare(sql)));
  return s;
}

/** Runs fn on the pool's connection, waiting for it like any knex query would. */
export async function withSqliteConnection<T>(knex: Knex, fn: (conn: SqliteConnection) => T): Promise<T> {
  const conn = (await knex.client.acquireConnection()) as SqliteConnection;
  try {
    return fn(conn);
  } finally {
    await knex.client.releaseConnection(conn);
  }
}
