/**
 * Associates: the users that can log in (table `associate`, ours). The login name is `name`, unique and looked up
 * regardless of case through its normalised copy `name_key` (loginNameKey, migration 005).
 */
import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import type { AssociateSummary } from '../webhooks/types.js';
import { returningInto } from './mssql-output.js';
import { loginNameKey } from './migrations/005-names.js';

export { loginNameKey };
import { chunked, insertedXsIntId, isUniqueViolation, knexOf, toDate, toInt, toRequiredDate, withTransaction, type Queryable } from './row-mapping.js';

export interface AssociateRecord extends AssociateSummary {
  passwordHash: string;
  registered: Date;
  updated: Date | null;
}

export interface NewAssociate {
  name: string;
  fullName?: string;
  personId?: number;
  passwordHash: string;
}

interface AssociateRow {
  associate_id: number;
  name: string;
  full_name: string | null;
  user_name?: string | null;
  person_id: number | null;
  password_hash: string;
  deleted: number | boolean;
  registered: unknown;
  updated: unknown;
}

function toRecord(row: AssociateRow): AssociateRecord {
  return {
    associateId: toInt(row.associate_id),
    name: row.name,
    fullName: row.full_name ?? '',
    // NetServer's user name for an imported associate; the login name for one created here.
    userName: row.user_name || row.name,
    personId: toInt(row.person_id),
    deleted: toInt(row.deleted) !== 0,
    passwordHash: row.password_hash,
    registered: toRequiredDate(row.registered),
    updated: toDate(row.updated),
  };
}

export function toSummary(record: AssociateRecord): AssociateSummary {
  const { associateId, name, fullName, userName, personId, deleted } = record;
  return { associateId, name, fullName, userName, personId, deleted };
}

/**
 * By name_key, the normalised login name (migration 005): an exact comparison, the same on every dialect and every
 * database collation.
 */
export function associateByNameQuery(k: Knex, name: string): Knex.QueryBuilder {
  return k('associate').where('name_key', loginNameKey(name)).first();
}

/** Creates an associate; a name taken (in any case) is AppError('conflict'). */
export async function createAssociate(db: Queryable, input: NewAssociate, at: Date = new Date()): Promise<AssociateRecord> {
  const name = input.name.trim();
  if (name === '') throw new AppError('invalid_argument', 'The user name must not be empty', { field: 'name' });
  let id: number;
  try {
    // In a transaction: an id beyond xs:int is refused before the row is kept.
    id = await withTransaction(db, (k) => insertedXsIntId('associate', async () => toInt((await returningInto(k, k('associate')
      .insert({
        name,
        name_key: loginNameKey(name),
        full_name: input.fullName ?? '',
        person_id: input.personId ?? 0,
        password_hash: input.passwordHash,
        deleted: 0,
        registered: at,
        updated: null,
      }), { associate_id: 'int' }) as Array<{ associate_id: number }>)[0]?.associate_id)));
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', `An associate named '${name}' already exists`, { cause: err });
    throw err;
  }
  return {
    associateId: id,
    name,
    fullName: input.fullName ?? '',
    userName: name,
    personId: input.personId ?? 0,
    deleted: false,
    passwordHash: input.passwordHash,
    registered: at,
    updated: null,
  };
}

/** Case-insensitive; deleted associates are returned too (with deleted=true), the caller decides. */
export async function findAssociateByName(db: Queryable, name: string): Promise<AssociateRecord | null> {
  const row = (await associateByNameQuery(knexOf(db), name.trim())) as AssociateRow | undefined;
  return row ? toRecord(row) : null;
}

export async function getAssociate(db: Queryable, associateId: number): Promise<AssociateRecord | null> {
  const row = (await knexOf(db)('associate').where('associate_id', associateId).first()) as AssociateRow | undefined;
  return row ? toRecord(row) : null;
}

/** Summaries of several associates in one query per 1000 ids, keyed by id. Unknown ids are absent. */
export async function getAssociateSummaries(db: Queryable, ids: readonly number[]): Promise<Map<number, AssociateSummary>> {
  const out = new Map<number, AssociateSummary>();
  const wanted = [...new Set(ids.filter((id) => id > 0))];
  for (const part of chunked(wanted)) {
    const rows = (await knexOf(db)('associate').whereIn('associate_id', part)) as AssociateRow[];
    for (const row of rows) {
      const r = toRecord(row);
      out.set(r.associateId, toSummary(r));
    }
  }
  return out;
}

/**
 * All associates (deleted ones too, unless activeOnly). withPassword: only those that have a password (associates
 * imported from NetServer have none until one is set).
 */
export async function countAssociates(db: Queryable, opts: { activeOnly?: boolean; withPassword?: boolean } = {}): Promise<number> {
  const q = knexOf(db)('associate').count({ n: '*' });
  if (opts.activeOnly) q.where('deleted', 0);
  if (opts.withPassword) q.whereNot('password_hash', '');
  const [row] = (await q) as Array<{ n: unknown }>;
  return toInt(row?.n);
}

/** false when there is no such associate. */
export async function setPassword(db: Queryable, associateId: number, passwordHash: string, at: Date = new Date()): Promise<boolean> {
  const n = await knexOf(db)('associate').where('associate_id', associateId).update({ password_hash: passwordHash, updated: at });
  return n > 0;
}

/** Soft delete: webhooks keep naming the associate as Registered/Updated. false when there is no such associate. */
export async function markDeleted(db: Queryable, associateId: number, at: Date = new Date()): Promise<boolean> {
  const n = await knexOf(db)('associate').where('associate_id', associateId).update({ deleted: 1, updated: at });
  return n > 0;
}
