/**
 * What an opened database is, apart from how it is opened (db.ts): a leaf, so the helpers db.ts's migrations use
 * (row-mapping.ts) can name it without importing db.ts back.
 */
import type { Knex } from 'knex';
import type { StorageWatch } from './storage-watch.js';

export type Dialect = 'sqlite' | 'pg' | 'mssql';

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** For logs: the URL without its password. */
  readonly description: string;
  /** Whether writes are failing for lack of space (set by openDatabase). */
  readonly storage?: StorageWatch;
  close(): Promise<void>;
}

/** Prefix of a SELECT whose rows selectArrays (row-mapping.ts) wants as arrays; a comment, so every dialect ignores it. */
export const ARRAY_ROWS_MARK = '/* rows:array */ ';
