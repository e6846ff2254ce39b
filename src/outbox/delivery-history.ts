/**
 * Reads and operator writes over the outbox (wa_event, wa_delivery, wa_attempt): the delivery log of a webhook, one
 * delivery with its attempts, redelivery, purge, the 24 h chart and the queue figures for /metrics.
 *
 * Redelivery puts a finished delivery back in the queue as it is: same row, same event_uuid (the EventId receivers
 * deduplicate by), attempt_count kept, so X-SuperOffice-Retry counts on from the last attempt. `created` becomes the
 * redelivery time: it is the start of the retry window (outbox/send/retry-policy.ts) and of the retention expiry
 * (outbox-maintenance.ts), both of which would otherwise end a replayed old delivery at its first failure. The
 * time the event was signalled stays in wa_event.created, which is what the log shows and filters on.
 * Every write is fenced by status, so a delivery a worker holds (pending, leased) is never touched.
 */
import type { Knex } from 'knex';
import { chunked, knexOf, toInt, withTransaction, type Queryable } from '../store/row-mapping.js';
import { deliveryStatusNames, type AttemptRow, type ChartBucket, type DeliveryRow, type DeliveryStatus } from './delivery-log-types.js';
import { notifyOutbox } from './outbox-backend.js';
import { HOUSEKEEPING_BATCH } from './outbox-maintenance.js';
import { STATE_CODE } from '../webhooks/types.js';

export { deliveryStatusNames };
export type { AttemptRow, ChartBucket, DeliveryRow, DeliveryStatus };
/** Statuses a redelivery takes back (pending ones are merely made due now). */
export const finishedStatuses: readonly DeliveryStatus[] = ['succeeded', 'failed_permanent', 'expired', 'cancelled'];
/** What "failed" means in filters and the bulk redelivery: gave up on (410 or retry window over). */
export const failedStatuses: readonly DeliveryStatus[] = ['failed_permanent', 'expired'];

export interface DeliveryQuery {
  webhookId?: number;
  statuses?: readonly DeliveryStatus[];
  eventName?: string;
  /** Event signalled at or after (epoch ms). */
  since?: number;
  /** Event signalled before (epoch ms). */
  until?: number;
  /** Keyset paging: only deliveries with a smaller id (the previous page's nextBefore). */
  before?: number;
  limit: number;
}



const deliveryColumns = [
  'd.delivery_id', 'd.webhook_id', 'd.event_uuid', 'e.name as event_name', 'e.primary_key', 'd.status', 'd.attempt_count',
  'e.created as signalled_at', 'd.created', 'd.next_attempt_at', 'd.lease_until', 'd.finished_at', 'd.last_status', 'd.last_error',
];

const nullableInt = (v: unknown) => (v === null || v === undefined ? null : toInt(v));

function toDeliveryRow(r: Record<string, unknown>, now: number): DeliveryRow {
  const status = String(r.status) as DeliveryStatus;
  const leaseUntil = nullableInt(r.lease_until);
  return {
    deliveryId: toInt(r.delivery_id),
    webhookId: toInt(r.webhook_id),
    eventId: String(r.event_uuid),
    eventName: String(r.event_name),
    primaryKey: toInt(r.primary_key),
    status,
    attempts: toInt(r.attempt_count),
    signalledAt: toInt(r.signalled_at),
    queuedAt: toInt(r.created),
    nextAttemptAt: status === 'pending' ? toInt(r.next_attempt_at) : null,
    inFlight: status === 'pending' && leaseUntil !== null && leaseUntil > now,
    finishedAt: nullableInt(r.finished_at),
    lastStatus: nullableInt(r.last_status),
    lastError: typeof r.last_error === 'string' ? r.last_error : null,
  };
}

/** Newest first; at most q.limit rows, and the cursor of the next page (null on the last one). */
export async function listDeliveries(db: Queryable, q: DeliveryQuery, now = Date.now()):
  Promise<{ deliveries: DeliveryRow[]; nextBefore: number | null }> {
  const k = knexOf(db);
  const query = k('wa_delivery as d').join('wa_event as e', 'e.event_id', 'd.event_id').select(deliveryColumns);
  if (q.webhookId !== undefined) query.where('d.webhook_id', q.webhookId);
  if (q.statuses?.length) query.whereIn('d.status', [...q.statuses]);
  if (q.eventName) query.where('e.name', q.eventName);
  if (q.since !== undefined) query.where('e.created', '>=', q.since);
  if (q.until !== undefined) query.where('e.created', '<', q.until);
  if (q.before !== undefined) query.where('d.delivery_id', '<', q.before);
  const rows = (await query.orderBy('d.delivery_id', 'desc').limit(q.limit + 1)) as Array<Record<string, unknown>>;
  const page = rows.slice(0, q.limit).map((r) => toDeliveryRow(r, now));
  return { deliveries: page, nextBefore: rows.length > q.limit ? page[page.length - 1].deliveryId : null };
}

export async function getDelivery(db: Queryable, deliveryId: number, now = Date.now()):
  Promise<(DeliveryRow & { attemptLog: AttemptRow[] }) | null> {
  const k = knexOf(db);
  const row = (await k('wa_delivery as d').join('wa_event as e', 'e.event_id', 'd.event_id')
    .where('d.delivery_id', deliveryId).first(deliveryColumns)) as Record<string, unknown> | undefined;
  if (!row) return null;
  const attempts = (await k('wa_attempt').where('delivery_id', deliveryId).orderBy('attempt_no').orderBy('attempt_id')
    .select('attempt_no', 'started_at', 'duration_ms', 'http_status', 'outcome', 'error_class', 'response_excerpt')) as
    Array<Record<string, unknown>>;
  return {
    ...toDeliveryRow(row, now),
    attemptLog: attempts.map((a) => ({
      attemptNo: toInt(a.attempt_no),
      startedAt: toInt(a.started_at),
      durationMs: toInt(a.duration_ms),
      httpStatus: nullableInt(a.http_status),
      outcome: String(a.outcome),
      errorClass: typeof a.error_class === 'string' ? a.error_class : null,
      responseExcerpt: typeof a.response_excerpt === 'string' ? a.response_excerpt : null,
    })),
  };
}

/**
 * Puts the given deliveries back in the queue, due now (see the top of the file). Finished ones are reopened;
 * pending ones that no worker holds are made due now (held ones released). Returns the ids changed.
 */
export async function redeliver(db: Queryable, deliveryIds: readonly number[], now: number): Promise<number[]> {
  if (deliveryIds.length === 0) return [];
  return withTransaction(db, async (trx) => {
    const changed: number[] = [];
    for (const part of chunked([...deliveryIds], HOUSEKEEPING_BATCH)) {
      const reopened = (await trx('wa_delivery').whereIn('delivery_id', part).whereIn('status', [...finishedStatuses])
        .select('delivery_id')) as Array<{ delivery_id: unknown }>;
      const ids = reopened.map((r) => toInt(r.delivery_id));
      if (ids.length) {
        await trx('wa_delivery').whereIn('delivery_id', ids).whereIn('status', [...finishedStatuses]).update({
          status: 'pending', next_attempt_at: now, held: 0, lease_until: null, lease_token: null, finished_at: null, created: now,
        });
      }
      const due = (await trx('wa_delivery').whereIn('delivery_id', part).where('status', 'pending').whereNotIn('delivery_id', ids)
        .where((w) => w.whereNull('lease_until').orWhere('lease_until', '<=', now)).select('delivery_id')) as Array<{ delivery_id: unknown }>;
      const dueIds = due.map((r) => toInt(r.delivery_id));
      if (dueIds.length) {
        await trx('wa_delivery').whereIn('delivery_id', dueIds).where('status', 'pending')
          .where((w) => w.whereNull('lease_until').orWhere('lease_until', '<=', now)).update({ next_attempt_at: now, held: 0 });
      }
      changed.push(...ids, ...dueIds);
    }
    if (changed.length) await notifyOutbox(trx);
    return changed.sort((a, b) => a - b);
  });
}

/** Ids of a webhook's deliveries that gave up (failed_permanent, expired) for events signalled at or after `since`. */
export async function failedDeliveryIds(db: Queryable, webhookId: number, since: number): Promise<number[]> {
  const rows = (await knexOf(db)('wa_delivery as d').join('wa_event as e', 'e.event_id', 'd.event_id')
    .where('d.webhook_id', webhookId).whereIn('d.status', [...failedStatuses]).where('e.created', '>=', since)
    .orderBy('d.delivery_id').select('d.delivery_id')) as Array<{ delivery_id: unknown }>;
  return rows.map((r) => toInt(r.delivery_id));
}

export interface PurgeResult {
  /** Pending deliveries cancelled (only with `pending: true`). */
  cancelled: number;
  /** Finished deliveries deleted with their attempts. */
  deleted: number;
}

/**
 * Removes a webhook's delivery history: finished deliveries (and their attempts) finished before `before`; with
 * `pending`, its queue is emptied first (pending deliveries no worker holds are recorded as cancelled, then go
 * too). In batches, like housekeeping.
 */
export async function purgeDeliveries(db: Queryable, webhookId: number, opts: { before: number; pending: boolean; now: number; reason: string }):
  Promise<PurgeResult> {
  const k = knexOf(db);
  let cancelled = 0;
  if (opts.pending) {
    cancelled = await k('wa_delivery').where({ webhook_id: webhookId, status: 'pending' })
      .where((w) => w.whereNull('lease_until').orWhere('lease_until', '<=', opts.now))
      .update({ status: 'cancelled', finished_at: opts.now, lease_until: null, lease_token: null, held: 0, last_error: opts.reason });
  }
  const before = opts.pending ? Math.max(opts.before, opts.now + 1) : opts.before;
  let deleted = 0;
  for (;;) {
    const ids = ((await k('wa_delivery').where('webhook_id', webhookId).whereIn('status', [...finishedStatuses])
      .where('finished_at', '<', before).orderBy('delivery_id').limit(HOUSEKEEPING_BATCH).select('delivery_id')) as
      Array<{ delivery_id: unknown }>).map((r) => toInt(r.delivery_id));
    if (ids.length === 0) break;
    await withTransaction(k, async (trx) => {
      await trx('wa_attempt').whereIn('delivery_id', ids).delete();
      deleted += await trx('wa_delivery').whereIn('delivery_id', ids).whereIn('status', [...finishedStatuses]).delete();
    });
    if (ids.length < HOUSEKEEPING_BATCH) break;
  }
  return { cancelled, deleted };
}


/**
 * The statement behind attemptChart: attempts of a webhook since `start`, counted per bucket of `bucketMs`.
 * The bucket number is an integer division of epoch ms, the same on every dialect. Start and size are literals (a
 * parameter in SELECT and another in GROUP BY would be two different expressions to the database), each CAST to
 * bigint: SQL Server types an integer literal above 2,147,483,647 as decimal, which made the division decimal and
 * the bucket numbers fractional, so every attempt not started exactly on a bucket boundary fell out of the chart.
 */
export function attemptChartQuery(k: Knex, webhookId: number, start: number, bucketMs: number): Knex.QueryBuilder {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new RangeError('chart start and bucket size are integers');
  const bucket = k.raw(`(a.started_at - CAST(${start} AS bigint)) / CAST(${bucketMs} AS bigint)`);
  return k('wa_attempt as a').join('wa_delivery as d', 'd.delivery_id', 'a.delivery_id')
    .where('d.webhook_id', webhookId).where('a.started_at', '>=', start)
    .select({ b: bucket })
    .select(k.raw(`sum(case when a.outcome = 'success' then 1 else 0 end) as ok`))
    .count({ n: '*' })
    .groupBy(bucket);
}

/**
 * Attempts of a webhook per bucket (default: hours of the last 24 h), oldest first, empty buckets included.
 * Counted in SQL (attemptChartQuery), so a busy hook costs one grouped scan of the started_at index range.
 */
export async function attemptChart(db: Queryable, webhookId: number, opts: { now: number; bucketMs?: number; buckets?: number }): Promise<ChartBucket[]> {
  const bucketMs = Math.trunc(opts.bucketMs ?? 3600_000);
  const n = Math.trunc(opts.buckets ?? 24);
  const end = Math.ceil((opts.now + 1) / bucketMs) * bucketMs;
  const start = end - n * bucketMs;
  const rows = (await attemptChartQuery(knexOf(db), webhookId, start, bucketMs)) as Array<{ b: unknown; ok: unknown; n: unknown }>;
  const out: ChartBucket[] = Array.from({ length: n }, (_, i) => ({ start: start + i * bucketMs, succeeded: 0, failed: 0 }));
  for (const r of rows) {
    const b = out[toInt(r.b)];
    if (!b) continue;
    b.succeeded = toInt(r.ok);
    b.failed = toInt(r.n) - b.succeeded;
  }
  return out;
}

export interface QueueFigures {
  pending: number;
  /** Pending, due now and their webhook Active: what workers will claim next. */
  due: number;
  /** Pending but their webhook is not Active (Stopped, TooManyErrors, deleted). */
  parked: number;
  /**
   * Epoch ms the oldest pending delivery of an Active webhook entered the queue; null when there is none. Parked
   * deliveries are left out: they wait for somebody to make their webhook Active, not for the worker.
   */
  oldestQueuedAt: number | null;
  /** Epoch ms the oldest parked delivery entered the queue; null when none is parked. */
  oldestParkedAt: number | null;
}

/** The queue in one statement, on the status prefix of ix_wa_delivery_claim. */
export async function queueFigures(db: Queryable, now: number): Promise<QueueFigures> {
  const row = (await knexOf(db).raw(
    `select count(*) as pending,
       sum(case when d.next_attempt_at <= ? and w.state = ${STATE_CODE.Active} then 1 else 0 end) as due,
       sum(case when w.state = ${STATE_CODE.Active} then 0 else 1 end) as parked,
       min(case when w.state = ${STATE_CODE.Active} then d.created end) as oldest,
       min(case when w.state = ${STATE_CODE.Active} then null else d.created end) as oldest_parked
     from wa_delivery d left join webhook w on w.webhook_id = d.webhook_id
     where d.status = 'pending'`, [now]));
  const r = firstRow(row);
  return { pending: toInt(r.pending), due: toInt(r.due), parked: toInt(r.parked), oldestQueuedAt: nullableInt(r.oldest),
    oldestParkedAt: nullableInt(r.oldest_parked) };
}

/** Webhooks per state number (0 Unknown, 1 Active, 2 Stopped, 3 TooManyErrors). */
export async function webhooksByState(db: Queryable): Promise<Map<number, number>> {
  const rows = (await knexOf(db)('webhook').select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: unknown; n: unknown }>;
  return new Map(rows.map((r) => [toInt(r.state), toInt(r.n)]));
}

/** knex.raw answers per driver: pg { rows }, SQLite and mssql an array. */
function firstRow(raw: unknown): Record<string, unknown> {
  const rows = Array.isArray(raw) ? raw : (raw as { rows?: unknown[] }).rows ?? [];
  return (rows[0] ?? {}) as Record<string, unknown>;
}
