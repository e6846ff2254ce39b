/**
 * One change of a CRM row -> NetServer's entity events (pure). The rules, from the reference pages:
 *   insert   `<entity>.created`: Changes = every column (ticket: none), FieldValues of the new row,
 *            ChangedByAssociateId = registered_associate_id.
 *   update   `<entity>.changed`: Changes = the changed columns; FieldValues of the new row; ChangedByAssociateId =
 *            updated_associate_id. Then the family's special verbs that the update raises (softdeleted, sold,
 *            lost, completed) with the same Changes. An update that changes nothing raises nothing.
 *   delete   `<entity>.deleted`: Changes [], Values = the family's id columns of the old row, FieldValues of the
 *            old row, ChangedByAssociateId = its updated_associate_id (the deleter is not in the row).
 * Changes lists the primary key first, then the other columns in NetServer's order (changesOrder).
 * Timestamp is the commit time of the CRM transaction.
 */
import type { SignalledEvent } from '../webhooks/types.js';
import type { CrmFamily, CrmRow, CrmValue } from './crm-families.js';

export interface CrmRowChange {
  op: 'insert' | 'update' | 'delete';
  /** The table's columns (any order). */
  columns: readonly string[];
  /** Before the change (update, delete). */
  old: CrmRow | null;
  /** After the change (insert, update). */
  row: CrmRow | null;
  /** When the CRM transaction committed. */
  committedAt: Date;
  /**
   * The changed columns when the source knows them but not the old values (SQL Server Change Tracking's column
   * mask): an update then needs no `old`, and a special verb fires when one of its columns changed and the new
   * value qualifies.
   */
  changed?: readonly string[];
}

/** '_' before the end of a name, the end before digits and letters; letters without regard to case. */
function rank(name: string, i: number): number {
  if (i >= name.length) return -1;
  const c = name[i]!;
  return c === '_' ? -2 : c.toLowerCase().charCodeAt(0);
}

/**
 * NetServer's order of column names in Changes, as its examples show it whatever the table's own order:
 * contact.created lists `registered_associate_id, registered`, `updated_associate_id, updated, updatedCount` and
 * `userdef_id, userdef2_id`, otherwise alphabetical without regard to case. One comparison gives all of these:
 * an underscore sorts before the end of a name, and the end before any letter or digit.
 */
export function compareChangeNames(a: string, b: string): number {
  for (let i = 0; i <= Math.max(a.length, b.length); i += 1) {
    const d = rank(a, i) - rank(b, i);
    if (d !== 0) return d;
    if (i >= a.length) return 0;
  }
  return 0;
}

export function changesOrder(family: CrmFamily, columns: readonly string[]): string[] {
  const rest = columns.filter((c) => c !== family.primaryKey).sort(compareChangeNames);
  return columns.includes(family.primaryKey) ? [family.primaryKey, ...rest] : rest;
}

function idOf(v: CrmValue | undefined): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : 0;
}

function firstId(row: CrmRow, columns: readonly string[]): number {
  for (const c of columns) if (c in row && row[c] !== null) return idOf(row[c]);
  return 0;
}

/**
 * FieldValues keys that are not columns of the table, with the value NetServer sends then: contact has no
 * DeletedDate column (it is not in contact.created's Changes), yet its example's FieldValues has
 * "DeletedDate": "0001-01-01T00:00:00" (.NET's DateTime.MinValue). Other keys a table lacks are left out.
 */
const absentKeyValues: Readonly<Record<string, CrmValue>> = { DeletedDate: '0001-01-01T00:00:00' };

function fieldValues(family: CrmFamily, row: CrmRow): Record<string, CrmValue> {
  const out: Record<string, CrmValue> = {};
  for (const k of family.fieldValues) {
    if (k in row) out[k] = row[k] ?? null;
    else if (k in absentKeyValues) out[k] = absentKeyValues[k]!;
  }
  return out;
}

function same(a: CrmValue | undefined, b: CrmValue | undefined): boolean {
  return a === b || (a != null && b != null && String(a) === String(b));
}

/** The changed columns as NetServer lists them (the primary key first); [] when nothing changed. */
export function changedColumns(family: CrmFamily, columns: readonly string[], old: CrmRow | null, row: CrmRow, known?: readonly string[]): string[] {
  const changed = known
    ? columns.filter((c) => c !== family.primaryKey && known.includes(c))
    : columns.filter((c) => c !== family.primaryKey && !same(old?.[c], row[c]));
  return changed.length === 0 ? [] : changesOrder(family, [family.primaryKey, ...changed]);
}

export function eventsForChange(family: CrmFamily, change: CrmRowChange): SignalledEvent[] {
  const name = (verb: string) => `${family.entity}.${verb}`;
  const timestamp = change.committedAt;
  if (change.op === 'insert' && change.row) {
    const row = change.row;
    return [{
      eventName: name('created'),
      primaryKey: idOf(row[family.primaryKey]),
      data: fieldValues(family, row),
      changedByAssociateId: firstId(row, family.changedByOnCreate),
      timestamp,
      bodyParts: { changes: family.changesOnCreate === 'all' ? changesOrder(family, change.columns) : [] },
    }];
  }
  if (change.op === 'update' && change.row && (change.old || change.changed)) {
    const row = change.row;
    const known = change.changed;
    const old = change.old ?? {};
    const changes = changedColumns(family, change.columns, change.old, row, known);
    if (changes.length === 0) return [];
    const base = {
      primaryKey: idOf(row[family.primaryKey]),
      changedByAssociateId: firstId(row, family.changedByOnChange),
      timestamp,
    };
    const events: SignalledEvent[] = [{ ...base, eventName: name('changed'), data: fieldValues(family, row), bodyParts: { changes } }];
    for (const s of family.special) {
      if (known && !s.columns.some((c) => known.includes(c))) continue;
      if (!s.when(old, row)) continue;
      events.push({
        ...base,
        eventName: name(s.verb),
        data: s.fieldValues ? fieldValues(family, row) : {},
        bodyParts: s.fieldValues ? { changes } : { changes, fieldValues: false },
      });
    }
    return events;
  }
  if (change.op === 'delete' && change.old && family.deletes) {
    const old = change.old;
    const values: Record<string, number> = {};
    for (const [key, column] of family.deleteValues) if (column in old) values[key] = idOf(old[column]);
    return [{
      eventName: name('deleted'),
      primaryKey: idOf(old[family.primaryKey]),
      data: fieldValues(family, old),
      changedByAssociateId: firstId(old, family.changedByOnChange),
      timestamp,
      bodyParts: { changes: [], values },
    }];
  }
  return [];
}
