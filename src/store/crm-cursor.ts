/**
 * The CRM event source's cursor (wa_crm_cursor): one row per source, the position (LSN or change version, as
 * text) up to which its changes are enqueued. Written in the enqueue's transaction (crm/crm-enqueue.ts).
 */
import { knexOf, type Queryable } from './row-mapping.js';

export async function readCrmCursor(db: Queryable, sourceName: string): Promise<string | null> {
  const row = (await knexOf(db)('wa_crm_cursor').where('source_name', sourceName).first('position')) as { position?: string } | undefined;
  return row?.position ?? null;
}

/** Inserts or moves the cursor; call inside the transaction that enqueued the changes up to `position`. */
export async function writeCrmCursor(db: Queryable, sourceName: string, position: string, now: number): Promise<void> {
  // Update first, insert when there was no row: the same two statements on every dialect (one reader per source,
  // so no two writers race for the first insert; the primary key would refuse the second anyway).
  const k = knexOf(db);
  const n = await k('wa_crm_cursor').where('source_name', sourceName).update({ position, updated: now });
  if (n === 0) await k('wa_crm_cursor').insert({ source_name: sourceName, position, updated: now });
}

/**
 * Moves the cursor only from `from` (null: there is none yet): false when another reader moved it first (its
 * update holds the row until it commits, after which this one matches nothing; a second first insert is refused
 * by the primary key). Readers without a slot (SQL Server) rely on it so that two of them never enqueue the same
 * changes.
 */
export async function moveCrmCursor(db: Queryable, sourceName: string, from: string | null, to: string, now: number): Promise<boolean> {
  const k = knexOf(db);
  if (from === null) {
    try {
      await k('wa_crm_cursor').insert({ source_name: sourceName, position: to, updated: now });
      return true;
    } catch {
      return false;
    }
  }
  return (await k('wa_crm_cursor').where({ source_name: sourceName, position: from }).update({ position: to, updated: now })) === 1;
}

export async function deleteCrmCursor(db: Queryable, sourceName: string): Promise<void> {
  await knexOf(db)('wa_crm_cursor').where('source_name', sourceName).delete();
}
