/**
 * SignalEvent's write, the hot path of real use: the Active webhooks subscribed to the event's name and, when there
 * are any, the event and one delivery each, all or nothing, in the cheapest form per dialect:
 *   SQLite      one synchronous BEGIN IMMEDIATE transaction of prepared statements on the single connection.
 *               Through knex the same transaction cost about twice the time and held the connection across several
 *               event-loop turns, so under load the worker's claims and recordings queued behind it.
 *   PostgreSQL  one statement (the subscriber select and both inserts as CTEs): one round trip, no explicit
 *               transaction. NOTIFY goes out after it commits, folded across concurrent calls (outbox-notify.ts):
 *               inside the transaction it serialised the commits of all concurrent SignalEvents.
 *   SQL Server  the subscriber select and enqueueEvent (outbox-repository.ts) in one knex transaction.
 * The subscriber select is webhook-repository.ts's activeSubscribersQuery, compiled once per knex instance.
 */
import type { Knex } from 'knex';
import type { SignalledEvent } from '../webhooks/types.js';
import type { Database } from '../store/db.js';
import { toInt } from '../store/row-mapping.js';
import { activeSubscriberIds, activeSubscribersQuery } from '../store/webhook-repository.js';
import { subscriptionKeys } from '../webhooks/event-match.js';
import { enqueueEvent, newEventUuid, storedEventData, type EnqueueResult } from './outbox-repository.js';
import { notifyOutboxAfterCommit } from './outbox-notify.js';
import { statement, withSqliteConnection } from './outbox-sqlite-connection.js';

/** Enqueues the event for its Active subscribers; nothing is written when there are none. */
export async function enqueueSignalledEvent(db: Pick<Database, 'knex' | 'dialect'>, event: SignalledEvent, opts: { now?: number } = {}): Promise<EnqueueResult> {
  const now = opts.now ?? Date.now();
  switch (db.dialect) {
    case 'sqlite':
      return enqueueSignalledSqlite(db.knex, event, now);
    case 'pg': {
      const result = await enqueueSignalledPg(db.knex, event, now);
      if (result.deliveries > 0) notifyOutboxAfterCommit(db.knex, result.webhookIds);
      return result;
    }
    default:
      return db.knex.transaction(async (trx) => enqueueEvent(trx, event, await activeSubscriberIds(trx, event.eventName), { now }));
  }
}

/**
 * activeSubscribersQuery (webhook-repository.ts) for an event name, compiled once per knex instance and number of
 * subscription keys (webhooks/event-match.ts: the name and the wildcards that receive it), so the hot path neither
 * rebuilds the query nor writes a second copy of it. The bindings are the keys, then the Active state.
 */
export interface CompiledSubscribers { sql: string; bindings: unknown[] }

const compiledSubscribers = new WeakMap<Knex, Map<number, { sql: string; tail: unknown[] }>>();

export function subscribersSql(k: Knex, eventName: string): CompiledSubscribers {
  const keys = subscriptionKeys(eventName);
  let perKnex = compiledSubscribers.get(k);
  if (!perKnex) compiledSubscribers.set(k, (perKnex = new Map()));
  let c = perKnex.get(keys.length);
  if (!c) {
    const q = activeSubscribersQuery(k, keys).toSQL();
    const bindings = q.bindings as unknown[];
    // The keys bind first (the where clause), everything after them is constant.
    if (!keys.every((key, i) => bindings[i] === key)) throw new Error('subscribersSql: unexpected binding order');
    c = { sql: q.sql, tail: bindings.slice(keys.length) };
    perKnex.set(keys.length, c);
  }
  return { sql: c.sql, bindings: [...keys, ...c.tail] };
}

/**
 * The PostgreSQL statement of enqueueSignalledEvent. Every delivery gets a version 7 EventId (see newEventUuid):
 * the time prefix is computed here, the random part comes from gen_random_uuid() (built in since PostgreSQL 13).
 * Bindings: the subscriber select's, then name, primary key, data, changed by, timestamp, created; time prefix,
 * next_attempt_at, created.
 */
function pgEnqueueSignalledSql(subscribers: string): string {
  return `with subs as (
  ${subscribers}
), ev as (
  insert into wa_event (name, primary_key, data, changed_by_associate_id, timestamp, created)
  select ?, ?, ?, ?, ?, ? where exists (select 1 from subs)
  returning event_id
), dl as (
  insert into wa_delivery (event_id, webhook_id, event_uuid, status, attempt_count, next_attempt_at, created)
  select ev.event_id, subs.webhook_id, overlay(overlay(gen_random_uuid()::text placing ? from 1 for 13) placing '7' from 15 for 1),
    'pending', 0, ?, ?
  from ev cross join subs
  returning webhook_id
)
select (select event_id from ev) as event_id, array(select webhook_id from dl) as webhook_ids`;
}

async function enqueueSignalledPg(k: Knex, event: SignalledEvent, now: number): Promise<EnqueueResult> {
  const timePrefix = newEventUuid(now).slice(0, 13);
  const subscribers = subscribersSql(k, event.eventName);
  const bindings = [
    ...subscribers.bindings,
    event.eventName, event.primaryKey, storedEventData(event), event.changedByAssociateId, event.timestamp.getTime(), now,
    timePrefix, now, now,
  ] as Knex.RawBinding[];
  const { rows } = (await k.raw(pgEnqueueSignalledSql(subscribers.sql), bindings)) as { rows: Array<{ event_id: unknown; webhook_ids: unknown[] }> };
  const row = rows[0];
  if (row?.event_id == null) return { eventId: null, deliveries: 0 };
  const webhookIds = row.webhook_ids.map(toInt);
  return { eventId: toInt(row.event_id), deliveries: webhookIds.length, webhookIds };
}

const sqliteInsert = {
  event: 'insert into wa_event (name, primary_key, data, changed_by_associate_id, timestamp, created) values (?, ?, ?, ?, ?, ?)',
  delivery: `insert into wa_delivery (event_id, webhook_id, event_uuid, status, attempt_count, next_attempt_at, created)
    values (?, ?, ?, 'pending', 0, ?, ?)`,
} as const;

/** The SQLite form. The Data JSON is built before the transaction, so the single writer holds its lock for less. */
export function enqueueSignalledSqlite(k: Knex, event: SignalledEvent, now: number): Promise<EnqueueResult> {
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
