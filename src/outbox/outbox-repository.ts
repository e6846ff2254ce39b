/**
 * The outbox's writes from the SOAP side and the worker's reads of claimed work.
 *
 * enqueueEvent runs in the caller's transaction (state events, together with the state change), so an event is
 * either accepted with all of its deliveries or not at all. SignalEvent uses enqueue-signalled.ts, which looks up
 * the subscribers and writes the event and its deliveries atomically in the cheapest form per dialect.
 * Once SignalEvent answers, the event is durable.
 */
import { randomUUID } from 'node:crypto';
import type { SignalledEvent } from '../webhooks/types.js';
import { toJsonValue } from './send/payload.js';
import { parseExact, stringifyExact } from '../webhooks/exact-json.js';
import { chunked, knexOf, toInt, withTransaction, type Queryable } from '../store/row-mapping.js';
import { parseHeaders, parseProperties } from '../store/webhook-repository.js';
import type { SecretCodec } from '../store/secret-codec.js';
import { notifyOutbox } from './outbox-notify.js';
import { returningInto } from '../store/mssql-output.js';

/** Rows per multi-row INSERT into wa_delivery: 7 parameters a row stays under SQL Server's 2100. */
const DELIVERY_INSERT_CHUNK = 250;

export interface EnqueueResult {
  /** wa_event.event_id; null when no webhook was owed the event (nothing is stored then). */
  eventId: number | null;
  /** Deliveries created (one per distinct webhook id). */
  deliveries: number;
  /** The webhooks that got a delivery (when the enqueue knows them). */
  webhookIds?: number[];
}

/**
 * A delivery's EventId: a random UUID whose first 48 bits are the time in milliseconds (RFC 9562 version 7), so
 * consecutive deliveries sort together. The unique index on wa_delivery.event_uuid then takes each insert at the
 * right-hand edge of the index instead of on a random page: with version 4 UUIDs that index was the largest single
 * cost of enqueueing (a 10-delivery event: 1.6 ms against 1.0 ms, measured on SQLite with 200,000 rows). 74 bits
 * stay random, so two deliveries of the same millisecond collide with odds of one in 2^74; the index still refuses
 * a duplicate.
 */
export function newEventUuid(now: number): string {
  const time = Math.max(0, Math.min(now, 0xffffffffffff)).toString(16).padStart(12, '0');
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its random bits and variant
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

/** The event's Data as stored: dates in NetServer's text form, so the stored JSON is what FieldValues will carry. */
export function storedEventData(event: SignalledEvent): string {
  return stringifyExact(toJsonValue(event.data ?? {}));
}

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
    const inserted = (await returningInto(trx, trx('wa_event')
      .insert({
        name: event.eventName,
        primary_key: event.primaryKey,
        data: storedEventData(event),
        changed_by_associate_id: event.changedByAssociateId,
        timestamp: event.timestamp.getTime(),
        created: now,
      }), { event_id: 'bigint' })) as Array<{ event_id: unknown } | number>;
    const first = inserted[0];
    const eventId = toInt(typeof first === 'object' ? first.event_id : first);
    for (const part of chunked(ids, DELIVERY_INSERT_CHUNK)) {
      await trx('wa_delivery').insert(part.map((webhookId) => ({
        event_id: eventId,
        webhook_id: webhookId,
        event_uuid: newEventUuid(now),
        status: 'pending',
        attempt_count: 0,
        next_attempt_at: now,
        created: now,
      })));
    }
    await notifyOutbox(trx);
    return { eventId, deliveries: ids.length, webhookIds: ids };
  });
}

/**
 * Marks the webhook's pending deliveries cancelled (recorded, not deleted); call before deleting the webhook, in
 * the same transaction. A worker still sending one of them finds its lease gone and records nothing.
 */
export async function cancelDeliveriesFor(db: Queryable, webhookId: number, opts: { now?: number; reason?: string } = {}): Promise<void> {
  const now = opts.now ?? Date.now();
  await knexOf(db)('wa_delivery')
    .where({ webhook_id: webhookId, status: 'pending' })
    .update({
      status: 'cancelled',
      finished_at: now,
      lease_until: null,
      lease_token: null,
      last_error: opts.reason ?? 'cancelled: the webhook was deleted',
    });
}

/** A claimed delivery with everything needed to send it. */
export interface ClaimedDelivery {
  deliveryId: number;
  webhookId: number;
  eventUuid: string;
  /** This attempt's number (1 = first). */
  attemptNo: number;
  leaseToken: string;
  created: number;
  eventName: string;
  primaryKey: number;
  data: Record<string, unknown>;
  changedByAssociateId: number;
  timestamp: Date;
  hook: {
    name: string;
    type: string;
    targetUrl: string;
    secret: string | null;
    headers: Record<string, string> | null;
    properties: Record<string, unknown> | null;
  };
  /**
   * Set when the stored secret could not be decrypted (a key missing from the configuration): why, without the
   * value. The delivery must not be sent then (unsigned or wrongly signed), and hook.secret is null.
   */
  secretError?: string;
}

function parseData(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string') return {};
  try {
    const v: unknown = parseExact(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The columns a claimed delivery is sent with (wa_delivery d, wa_event e, webhook w). */
export const claimedColumns = [
  'd.delivery_id', 'd.webhook_id', 'd.event_uuid', 'd.attempt_count', 'd.lease_token', 'd.created',
  'e.name as event_name', 'e.primary_key', 'e.data', 'e.changed_by_associate_id', 'e.timestamp',
  'w.name as webhook_name', 'w.type', 'w.target_url', 'w.secret', 'w.headers', 'w.properties',
] as const;

/** Row -> ClaimedDelivery; the secret is decoded with `secrets`. */
export function toClaimedDelivery(r: Record<string, unknown>, secrets: SecretCodec): ClaimedDelivery {
  let secret: string | null = typeof r.secret === 'string' && r.secret !== '' ? r.secret : null;
  let secretError: string | undefined;
  try {
    secret = secrets.decode(secret) || null;
  } catch (err) {
    // One unreadable row must not fail the whole claimed batch: the worker records it as not sent.
    secret = null;
    secretError = err instanceof Error ? err.message : String(err);
  }
  const claimed: ClaimedDelivery = {
    deliveryId: toInt(r.delivery_id),
    webhookId: toInt(r.webhook_id),
    eventUuid: String(r.event_uuid),
    attemptNo: toInt(r.attempt_count),
    leaseToken: String(r.lease_token),
    created: toInt(r.created),
    eventName: String(r.event_name),
    primaryKey: toInt(r.primary_key),
    data: parseData(r.data),
    changedByAssociateId: toInt(r.changed_by_associate_id),
    timestamp: new Date(toInt(r.timestamp)),
    hook: {
      name: String(r.webhook_name ?? ''),
      type: String(r.type ?? 'webhook'),
      targetUrl: String(r.target_url ?? ''),
      secret,
      headers: parseHeaders(r.headers),
      properties: parseProperties(r.properties),
    },
  };
  if (secretError !== undefined) claimed.secretError = secretError;
  return claimed;
}

/**
 * Loads event and webhook for claimed ids. Only rows still holding `leaseToken` come back (a delivery cancelled
 * in between is skipped). Rows whose webhook is gone are skipped too; their lease runs out and retention ends them.
 */
export async function loadClaimed(
  db: Queryable,
  claims: ReadonlyArray<{ deliveryId: number; leaseToken: string }>,
  opts: { secrets: SecretCodec },
): Promise<ClaimedDelivery[]> {
  if (claims.length === 0) return [];
  const k = knexOf(db);
  const tokens = new Map(claims.map((c) => [c.deliveryId, c.leaseToken]));
  const out: ClaimedDelivery[] = [];
  for (const part of chunked(claims.map((c) => c.deliveryId), 500)) {
    const rows = (await k('wa_delivery as d')
      .join('wa_event as e', 'e.event_id', 'd.event_id')
      .join('webhook as w', 'w.webhook_id', 'd.webhook_id')
      .whereIn('d.delivery_id', part)
      .select(...claimedColumns)) as Array<Record<string, unknown>>;
    for (const r of rows) {
      if (r.lease_token === tokens.get(toInt(r.delivery_id))) out.push(toClaimedDelivery(r, opts.secrets));
    }
  }
  const order = new Map(claims.map((c, i) => [c.deliveryId, i]));
  return out.sort((a, b) => (order.get(a.deliveryId) ?? 0) - (order.get(b.deliveryId) ?? 0));
}
