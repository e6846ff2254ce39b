/**
 * Rows a statement changed, returned on SQL Server through `OUTPUT ... INTO` a table variable. `OUTPUT` without
 * `INTO` is refused (Msg 334) on a table with an enabled trigger, and a DBA or other software may add one to any
 * table of a CRM database; with `INTO` the statement works whatever triggers exist. The table variable lives in
 * the statement's batch only (no tempdb object to create or clean up, no right beyond the statement's own).
 */
import type { Knex } from 'knex';
import { dialectOfKnex } from './row-mapping.js';

/** Column name -> SQL Server type, in the order the rows come back. */
export type OutputColumns = Readonly<Record<string, string>>;

const quote = (name: string) => `[${name.replace(/]/g, ']]')}]`;

/** `DECLARE @name TABLE (...)` for the columns. */
export function outputTableDeclaration(name: string, columns: OutputColumns): string {
  return `DECLARE ${name} TABLE (${Object.entries(columns).map(([c, type]) => `${quote(c)} ${type}`).join(', ')})`;
}

/**
 * The query returning the given columns of the rows it inserts or updates: RETURNING on PostgreSQL and SQLite; on
 * SQL Server knex's `OUTPUT inserted.[...]` clause with `INTO @out`, in one batch with its declaration and the
 * SELECT that answers the rows.
 */
export function returningInto(k: Knex, q: Knex.QueryBuilder, columns: OutputColumns): Knex.QueryBuilder | Knex.Raw {
  const names = Object.keys(columns);
  q.returning(names);
  if (dialectOfKnex(k) !== 'mssql') return q;
  const { sql, bindings } = q.toSQL();
  const clause = `output ${names.map((c) => `inserted.${quote(c)}`).join(', ')}`;
  const at = sql.indexOf(clause);
  if (at < 0 || sql.indexOf(clause, at + 1) >= 0) throw new Error(`returningInto: expected one '${clause}' in ${sql}`);
  const end = at + clause.length;
  const text = `${outputTableDeclaration('@out', columns)}; ${sql.slice(0, end)} into @out${sql.slice(end)}; ` +
    `select ${names.map(quote).join(', ')} from @out`;
  return k.raw(text, bindings as Knex.RawBinding[]);
}
