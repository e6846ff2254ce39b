/**
 * SignalEvent's write, the hot path of real use: the Active webhooks subscribed to the event's name and, when there
 * are any, the event and one delivery each, all or nothing, in the cheapest form per dialect (each backend's
 * enqueueSignalled):
 *   SQLite      one synchronous BEGIN IMMEDIATE transaction of prepared statements on the single connection.
 *               Through knex the same transaction cost about twice the time and held the connection across several
 *               event-loop turns, so under load the worker's claims and recordings queued behind it.
 *   PostgreSQL  one statement (the subscriber select and both inserts as CTEs): one round trip, no explicit
 *               transaction. NOTIFY goes out after it commits, folded across concurrent calls (outbox-notify.ts):
 *               inside the transaction it serialised the commits of all concurrent SignalEvents.
 *   SQL Server  the subscriber select and the event's rows (event-rows.ts) in one knex transaction.
 * The subscriber select is webhook-repository.ts's activeSubscribersQuery, compiled once per knex instance
 * (subscribers-sql.ts).
 */
import type { SignalledEvent } from '../webhooks/types.js';
import type { Database } from '../store/db.js';
import type { EnqueueResult } from './event-rows.js';
import { outboxBackend } from './outbox-backend.js';

/** Enqueues the event for its Active subscribers; nothing is written when there are none. */
export function enqueueSignalledEvent(db: Pick<Database, 'knex' | 'dialect'>, event: SignalledEvent, opts: { now?: number } = {}): Promise<EnqueueResult> {
  return outboxBackend(db).enqueueSignalled(db.knex, event, opts.now ?? Date.now());
}
