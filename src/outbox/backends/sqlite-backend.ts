/**
 * The outbox on SQLite: one writer, so everything hot runs synchronously on the pool's single better-sqlite3
 * connection in BEGIN IMMEDIATE transactions of prepared statements (SignalEvent's write here; claim + load and the
 * group-committed recording in outbox-sqlite.ts). One worker process (the lock of outbox-worker-lock.ts), woken in
 * process: nothing to notify. Inside a caller's transaction, and for an attempt that turns the webhook
 * TooManyErrors, the recording takes the knex form (outbox-record.ts).
 */
import type { Knex } from 'knex';
import type { SignalledEvent } from '../../webhooks/types.js';
import { knexOf } from '../../store/row-mapping.js';
import { claimSqlite, extendRunsSqlite, holdSqlite } from '../claim-sqlite.js';
import { newEventUuid, storedEventData, type EnqueueResult } from '../event-rows.js';
import { ensureUsageRowSql, recordWithKnex, type RecordResult } from '../outbox-record.js';
import { claimAndLoadSqlite, recordAttemptSqlite } from '../outbox-sqlite.js';
import { statement, withSqliteConnection } from '../outbox-sqlite-connection.js';
import { subscribersSql } from '../subscribers-sql.js';
import type { OutboxBackend } from './backend-types.js';

const recording = { ensureUsageRow: ensureUsageRowSql('', ' on conflict do nothing') };

const sqliteInsert = {
  event: 'insert into wa_event (name, primary_key, data, changed_by_associate_id, timestamp, created) values (?, ?, ?, ?, ?, ?)',
  delivery: `insert into wa_delivery (event_id, webhook_id, event_uuid, status, attempt_count, next_attempt_at, created)
    values (?, ?, ?, 'pending', 0, ?, ?)`,
} as const;

/** The SQLite form. The Data JSON is built before the transaction, so the single writer holds its lock for less. */
function enqueueSignalled(k: Knex, event: SignalledEvent, now: number): Promise<EnqueueResult> {
  const subscribers = subscribersSql(k, event.eventName);
  const data = storedEventData(event);
  return withSqliteConnection(k, (conn) => conn.transaction((): EnqueueResult => {
    const rows = statement(conn, subscribers.sql).all(...subscribers.bindings) as Array<{ webhook_id: number }>;
    if (rows.length === 0) return { eventId: null, deliveries: 0 };
    const eventId = Number(statement(conn, sqliteInsert.event)
      .run(event.eventName, event.primaryKey, data, event.changedByAssociateId, event.timestamp.getTime(), now).lastInsertRowid);
    const insert = statement(conn, sqliteInsert.delivery);
    for (const r of rows) insert.run(eventId, r.webhook_id, newEventUuid(now), now, now);
    return { eventId, deliveries: rows.length, webhookIds: rows.map((r) => r.webhook_id) };
  }).immediate());
}

export const sqliteBackend: OutboxBackend = {
  dialect: 'sqlite',
  singleWorker: true,
  enqueueSignalled,
  claim: claimSqlite,
  extendRuns: extendRunsSqlite,
  hold: holdSqlite,
  claimAndLoad: claimAndLoadSqlite,
  record(q, records, onTooManyErrors) {
    const k = knexOf(q);
    if ((k as unknown as { isTransaction?: boolean }).isTransaction === true) return recordWithKnex(k, records, recording, onTooManyErrors);
    // The fast path commits the attempts of one event-loop turn together; one it cannot take comes back as null.
    return Promise.all(records.map(async (r): Promise<RecordResult> =>
      (await recordAttemptSqlite(k, r)) ?? (await recordWithKnex(k, [r], recording, onTooManyErrors))[0]));
  },
  notify: async () => {},
  listenConnection: () => null,
  databaseTime: null,
};
