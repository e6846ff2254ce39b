/**
 * The CRM event source on SQL Server: Change Tracking, polled every pollMs (crm/mssql-crm-sql.ts has the
 * statements). A poll reads, in one SNAPSHOT transaction of the CRM database, the changes of every family's table
 * after the cursor up to CHANGE_TRACKING_CURRENT_VERSION(), merges them in version order and enqueues their events
 * with the cursor moved to that version in one transaction of the service's database (crm-enqueue.ts), from the
 * cursor it read: a second reader that got there first makes this batch roll back (no slot here to make readers
 * exclusive), so no change is enqueued twice and none is skipped.
 *
 * What Change Tracking cannot say, unlike logical replication: the old values (special verbs fire when their
 * column is in the changed mask and the new value qualifies), a deleted row's columns (Values and FieldValues of
 * a delete hold the primary key only, ChangedByAssociateId is 0), several changes to one row between two polls
 * (they are one net change: insert+update is one created), and the commit time (Timestamp is the time of the read).
 * No cursor yet: the source starts from the current version ("from now"). A cursor older than a table's
 * CHANGE_TRACKING_MIN_VALID_VERSION fails the source with the resynchronisation to run (crm-events reset).
 */
import knexFactory, { type Knex } from 'knex';
import type { Logger } from '../logger.js';
import { mssqlConnection, type Database } from '../store/db.js';
import { readCrmCursor } from '../store/crm-cursor.js';
import type { SignalledEvent } from '../webhooks/types.js';
import { CursorMovedError, enqueueCrmBatch } from './crm-enqueue.js';
import { eventsForChange, type CrmRowChange } from './crm-events.js';
import { crmFamilies, type CrmFamily, type CrmRow, type CrmValue } from './crm-families.js';
import { describeCrmUrl, initialState, sleep, type CrmSource, type CrmSourceState } from './crm-source.js';
import { mssqlCrmSql } from './mssql-crm-sql.js';

export interface MssqlCrmSourceOptions {
  crmUrl: string;
  schema: string;
  db: Pick<Database, 'knex' | 'dialect'>;
  logger: Logger;
  pollMs?: number;
  retryMs?: number;
}

const dateTypes = new Set(['date', 'datetime', 'datetime2', 'smalldatetime', 'datetimeoffset']);
const netMinDate = '0001-01-01T00:00:00';

/** A value as the mssql driver returns it -> its payload value; SuperOffice's datetimes are local, without a zone. */
export function mssqlValue(type: string, v: unknown): CrmValue {
  if (v === null || v === undefined) return dateTypes.has(type) ? netMinDate : null;
  if (v instanceof Date) {
    const iso = v.toISOString().slice(0, -1);
    const [whole, frac] = iso.split('.');
    const trimmed = (frac ?? '').replace(/0+$/, '');
    return trimmed ? `${whole}.${trimmed}` : whole!;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  return String(v);
}

/** The cursor is older than what Change Tracking keeps: changes were lost; the operator resynchronises. */
export class CursorTooOldError extends Error {
  readonly code = 'CRM_CURSOR_TOO_OLD';
}

interface TableInfo { family: CrmFamily; columns: string[]; types: Map<string, string> }

/** One Change Tracking row -> the change eventsForChange maps. */
export function changeOfRow(info: TableInfo, r: Record<string, unknown>, readAt: Date): CrmRowChange {
  const op = r.wa_operation === 'I' ? 'insert' : r.wa_operation === 'D' ? 'delete' : 'update';
  const row: CrmRow = {};
  for (const c of info.columns) row[c] = mssqlValue(info.types.get(c) ?? '', r[c]);
  const key = mssqlValue('int', r.wa_key);
  if (op === 'delete') return { op, columns: info.columns, old: { [info.family.primaryKey]: key }, row: null, committedAt: readAt };
  row[info.family.primaryKey] = key;
  const changed = op === 'update' ? info.columns.filter((_, i) => r[`wa_changed_${i}`] === 1 || r[`wa_changed_${i}`] === true) : undefined;
  return { op, columns: info.columns, old: null, row, committedAt: readAt, ...(changed ? { changed } : {}) };
}

export function createMssqlCrmSource(o: MssqlCrmSourceOptions): CrmSource {
  const sourceName = `${describeCrmUrl(o.crmUrl)}#change_tracking`;
  const pollMs = o.pollMs ?? 1000;
  const retryMs = o.retryMs ?? 5000;
  const st: CrmSourceState = initialState('mssql', sourceName);
  const log = o.logger.child({ crmSource: sourceName });
  const stopping = new AbortController();
  let crm: Knex | null = null;
  let tables: TableInfo[] | null = null;
  let loop: Promise<void> | null = null;

  async function describeTables(k: Knex): Promise<TableInfo[]> {
    const out: TableInfo[] = [];
    for (const family of crmFamilies) {
      const rows = (await mssqlCrmSql.columns(k, { schema: o.schema, table: family.table, primaryKey: family.primaryKey })) as Array<{ name: string; type: string }>;
      if (rows.length === 0) continue;
      out.push({ family, columns: rows.map((r) => r.name), types: new Map(rows.map((r) => [r.name, r.type])) });
    }
    if (out.length === 0) throw new Error(`none of the CRM tables is in schema ${o.schema}`);
    return out;
  }

  /** One poll; true when it enqueued up to a new version. */
  async function poll(): Promise<boolean> {
    crm ??= knexFactory({ client: 'mssql', connection: mssqlConnection(o.crmUrl), pool: { min: 0, max: 1 } });
    tables ??= await describeTables(crm);
    const stored = await readCrmCursor(o.db.knex, sourceName);
    const readAt = new Date();
    const batch = await crm.transaction(async (trx) => {
      const to = String(((await mssqlCrmSql.current(trx)) as Array<{ version: unknown }>)[0]?.version ?? '0');
      if (stored === null) return { to, events: [] as SignalledEvent[], changes: 0 };
      const changes: Array<{ version: number; change: CrmRowChange; family: CrmFamily }> = [];
      for (const info of tables!) {
        const t = { schema: o.schema, table: info.family.table, primaryKey: info.family.primaryKey };
        const min = Number(((await mssqlCrmSql.minValid(trx, t)) as Array<{ version: unknown }>)[0]?.version ?? 0);
        if (Number(stored) < min) {
          throw new CursorTooOldError(`the cursor (version ${stored}) is older than ${info.family.table}'s CHANGE_TRACKING_MIN_VALID_VERSION (${min}): ` +
            'changes were cleaned up before they were read. Resynchronise with `webhook-agent crm-events reset --to now` (events between are not sent)');
        }
        if (to === stored) continue;
        const rows = (await mssqlCrmSql.changes(trx, t, info.columns, stored, to)) as Array<Record<string, unknown>>;
        for (const r of rows) changes.push({ version: Number(r.wa_version), change: changeOfRow(info, r, readAt), family: info.family });
      }
      changes.sort((a, b) => a.version - b.version);
      return { to, events: changes.flatMap((c) => eventsForChange(c.family, c.change)), changes: changes.length };
    }, { isolationLevel: 'snapshot' });
    if (batch.to === stored) return false;
    const r = await enqueueCrmBatch(o.db, sourceName, batch.events, batch.to, { expected: stored });
    if (stored === null) log.warn({ version: batch.to }, 'CRM events: no cursor, starting from the current version');
    st.position = batch.to;
    st.changesRead += batch.changes;
    st.eventsEnqueued += r.eventsEnqueued;
    st.deliveriesEnqueued += r.deliveries;
    st.lagSeconds = batch.changes > 0 ? Math.max(0, (Date.now() - readAt.getTime()) / 1000) : 0;
    st.lagUnits = 0;
    return true;
  }

  async function run(): Promise<void> {
    let backoff = retryMs;
    while (!stopping.signal.aborted) {
      try {
        const moved = await poll();
        st.status = 'running';
        st.detail = undefined;
        backoff = retryMs;
        if (!moved) await sleep(pollMs, stopping.signal);
      } catch (err) {
        if (stopping.signal.aborted) break;
        const e = err as Error;
        if (e instanceof CursorTooOldError) {
          st.status = 'failed';
          st.detail = e.message;
          log.error({ err: e }, 'CRM events stopped');
          return;
        }
        if (e instanceof CursorMovedError) {
          st.status = 'waiting';
          st.detail = e.message;
          await sleep(retryMs, stopping.signal);
          continue;
        }
        st.status = 'reconnecting';
        st.detail = e.message;
        log.warn({ err: e, retryInMs: backoff }, 'CRM events: reading Change Tracking failed; trying again');
        tables = null;
        await sleep(backoff, stopping.signal);
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      await loop;
      await crm?.destroy();
      crm = null;
      st.status = 'stopped';
    },
    state: () => ({ ...st }),
  };
}
