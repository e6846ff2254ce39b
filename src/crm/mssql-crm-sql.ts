/**
 * The statements of the SQL Server CRM source (Change Tracking), built as text so they can be checked without a
 * server (test/crm/mssql-crm-sql.test.ts, npm run check:tsql). Identifiers are bracket-quoted; values are bindings.
 *   columns      the table's columns and types, in table order (information_schema.columns);
 *   current      CHANGE_TRACKING_CURRENT_VERSION(): the version a poll reads up to;
 *   minValid     CHANGE_TRACKING_MIN_VALID_VERSION(table): a cursor older than it has lost changes (retention);
 *   changes      CHANGETABLE(CHANGES table, @from) after the cursor and up to @to, joined to the current row, with
 *                CHANGE_TRACKING_IS_COLUMN_IN_MASK per column (which columns an update changed).
 * Each poll runs them in one SNAPSHOT transaction, so the rows joined are those of the version read.
 */
import type { Knex } from 'knex';

const id = (name: string) => `[${name.replace(/]/g, ']]')}]`;

export interface MssqlTable {
  schema: string;
  table: string;
  primaryKey: string;
}

export const mssqlCrmSql = {
  columns: (k: Knex, t: MssqlTable) => k.raw(
    'select column_name as name, data_type as type from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position',
    [t.schema, t.table],
  ),
  current: (k: Knex) => k.raw('select change_tracking_current_version() as version'),
  minValid: (k: Knex, t: MssqlTable) => k.raw('select change_tracking_min_valid_version(object_id(?)) as version', [`${t.schema}.${t.table}`]),
  /** wa_version, wa_operation (I, U, D), wa_key, wa_changed_<n> (1 when column n changed; null on insert), then the row's columns. */
  changes: (k: Knex, t: MssqlTable, columns: readonly string[], from: string, to: string) => {
    const qualified = `${id(t.schema)}.${id(t.table)}`;
    const masks = columns.map((c, i) =>
      `change_tracking_is_column_in_mask(columnproperty(object_id(?), ?, 'ColumnId'), ct.sys_change_columns) as ${id(`wa_changed_${i}`)}`);
    const sql = `select ct.sys_change_version as wa_version, ct.sys_change_operation as wa_operation, ct.${id(t.primaryKey)} as wa_key,
  ${masks.join(',\n  ')},
  ${columns.map((c) => `r.${id(c)}`).join(', ')}
from changetable(changes ${qualified}, ?) as ct
left join ${qualified} as r on r.${id(t.primaryKey)} = ct.${id(t.primaryKey)}
where ct.sys_change_version <= ?
order by ct.sys_change_version, ct.${id(t.primaryKey)}`;
    const bindings = [...columns.flatMap((c) => [`${t.schema}.${t.table}`, c]), Number(from), Number(to)];
    return k.raw(sql, bindings);
  },
};
