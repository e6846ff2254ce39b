/**
 * The outbox's writes from the SOAP side: enqueueEvent runs in the caller's transaction (state events, together
 * with the state change), so an event is either accepted with all of its deliveries or not at all. SignalEvent uses
 * enqueue-signalled.ts, which looks up the subscribers and writes the event and its deliveries atomically in the
 * cheapest form per dialect (the backends). Once SignalEvent answers, the event is durable.
 */
import type { Knex } from 'knex';
import type { SignalledEvent } from '../webhooks/types.js';
import { knexOf, toInt, withTransaction, type Queryable } from '../store/row-mapping.js';
import { activeSubscriberIds } from '../store/webhook-repository.js';
import { HOUSEKEEPING_BATCH } from './outbox-maintenance.js';
import { insertEventRows, type EnqueueResult } from './event-rows.js';
import { outboxBackend } from './outbox-backend.js';

/**
 * Stores the event and one pending delivery per webhook, each with its own EventId, due at once.
 * Joins the caller's transaction when given one.
 */
export async function enqueueEvent(
  db: Queryable,
  event: SignalledEvent,
  webhookIds: readonly number[],
  opts: { now?: number } = {},
): Promise<EnqueueResult> {
  const ids = [...new Set(webhookIds)];
  if (ids.length === 0) return { eventId: null, deliveries: 0 };
  const now = opts.now ?? Date.now();
  return withTransaction(db, async (trx) => {
    const result = await insertEventRows(trx, event, ids, now);
    await outboxBackend(trx).notify(trx);
    return result;
  });
}

export interface BatchResult {
  /** Deliveries created. */
  deliveries: number;
  /** Events that had at least one Active subscriber (the others are not stored). */
  eventsEnqueued: number;
}

/**
 * Enqueues each event for its Active subscribers inside trx, in the given order (a source's events of one
 * transaction: their event ids, and so their deliveries per record, keep that order). One wake-up for the batch.
 */
export async function enqueueEventBatch(trx: Knex.Transaction, events: readonly SignalledEvent[], now: number): Promise<BatchResult> {
  const subscribers = new Map<string, number[]>();
  let deliveries = 0;
  let eventsEnqueued = 0;
  for (const event of events) {
    let ids = subscribers.get(event.eventName);
    if (!ids) subscribers.set(event.eventName, (ids = [...new Set(await activeSubscriberIds(trx, event.eventName))]));
    if (ids.length === 0) continue;
    deliveries += (await insertEventRows(trx, event, ids, now)).deliveries;
    eventsEnqueued += 1;
  }
  if (deliveries > 0) await outboxBackend(trx).notify(trx);
  return { deliveries, eventsEnqueued };
}

/**
 * Marks the webhook's pending deliveries cancelled (recorded, not deleted); call before deleting the webhook, in
 * the same transaction. A delivery in flight (live lease) is left to its worker: an outcome that reached the
 * receiver is recorded, and the worker then cancels what the deleted hook has left (cancelOrphanedDeliveries).
 */
export async function cancelDeliveriesFor(db: Queryable, webhookId: number, opts: { now?: number; reason?: string } = {}): Promise<void> {
  const now = opts.now ?? Date.now();
  await knexOf(db)('wa_delivery')
    .where({ webhook_id: webhookId, status: 'pending' })
    .andWhere((q) => { void q.whereNull('lease_until').orWhere('lease_until', '<=', now); })
    .update(cancelled(now, opts.reason ?? DELETED));
}

const DELETED = 'cancelled: the webhook was deleted';

const cancelled = (now: number, reason: string) => ({ status: 'cancelled', finished_at: now, lease_until: null, lease_token: null, last_error: reason });

/**
 * After a worker recorded or gave back deliveries of a webhook: when the webhook is gone (deleted while they were in
 * flight), its pending deliveries not in flight are cancelled (a recorded outcome keeps its attempt row and last_status). Returns how
 * many; 0 (and nothing written) while the webhook exists.
 */
export async function cancelOrphanedDeliveries(db: Queryable, webhookId: number, now: number): Promise<number> {
  const k = knexOf(db);
  // A read by primary key first: the common case (the webhook exists) writes nothing and takes no write lock. A
  // webhook once gone does not come back (ids are not reused), so the update needs no re-check.
  if (await k('webhook').where('webhook_id', webhookId).first('webhook_id')) return 0;
  return k('wa_delivery')
    .where({ webhook_id: webhookId, status: 'pending' })
    .andWhere((q) => { void q.whereNull('lease_until').orWhere('lease_until', '<=', now); })
    .update(cancelled(now, DELETED));
}

/**
 * The maintenance sweep (worker housekeeping) for deliveries of webhooks that no longer exist and that no run will
 * see: a DeleteWebhook that raced with an enqueue (the enqueue read the subscriber before the delete committed and
 * wrote its delivery after the delete's cancel), or a webhook deleted between a claim and the load of its rows. No
 * claim takes them (the claim joins the webhook), so without this they would wait for retention. Pending ones not in
 * flight are cancelled as DeleteWebhook cancels them, in batches; returns how many.
 */
export async function cancelDeliveriesOfDeletedWebhooks(db: Queryable, opts: { now: number; maxBatches?: number }): Promise<number> {
  const k = knexOf(db);
  const orphaned = (q: Knex.QueryBuilder) => q
    .where('status', 'pending')
    .andWhere((w) => { void w.whereNull('lease_until').orWhere('lease_until', '<=', opts.now); })
    .whereNotExists(k('webhook as w').whereRaw('w.webhook_id = wa_delivery.webhook_id').select(k.raw('1')));
  let total = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const ids = ((await orphaned(k('wa_delivery')).orderBy('delivery_id').limit(HOUSEKEEPING_BATCH).select('delivery_id')) as Array<{ delivery_id: unknown }>)
      .map((r) => toInt(r.delivery_id));
    if (ids.length === 0) break;
    // Webhook ids are not reused, so a webhook found gone stays gone; the lease is checked again (a claim may have come between).
    total += await orphaned(k('wa_delivery')).whereIn('delivery_id', ids).update(cancelled(opts.now, DELETED));
    if (ids.length < HOUSEKEEPING_BATCH) break;
  }
  return total;
}

/**
 * A webhook made Active again drains its parked deliveries at once: its pending deliveries that are not in flight
 * become due at `now` (call in the transaction that re-activates it, with that transaction's time, so they are due
 * when it commits), however far their backoff or a hold had put them. They all get the same time, so the claim's
 * order (next_attempt_at, delivery_id) and the per-webhook order rule send them oldest first.
 */
export async function releaseParkedDeliveries(db: Queryable, webhookId: number, now: number): Promise<number> {
  return knexOf(db)('wa_delivery')
    .where({ webhook_id: webhookId, status: 'pending' })
    .andWhere('next_attempt_at', '>', now)
    .andWhere((q) => { void q.whereNull('lease_until').orWhere('lease_until', '<=', now); })
    .update({ next_attempt_at: now, held: 0 });
}
