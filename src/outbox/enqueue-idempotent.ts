/**
 * SignalEvent with an Idempotency-Key (issue 21, item 5): a caller that retries after a timeout cannot double an
 * event. The key is claimed by a row of wa_idempotency (primary key: associate, key) written in the same
 * transaction as the event and its deliveries, so either both are stored or neither. A repeat within the TTL
 * enqueues nothing and gets the first request's result; a concurrent repeat waits on the first one's row lock
 * (PostgreSQL, SQL Server) or the single writer (SQLite), fails the insert and reads that result. A key used again
 * for a different request (another event name, primary key or data) is refused. A request without a key takes the
 * dialect's fast path (enqueue-signalled.ts); this one is the plain knex form every dialect runs.
 * Rows older than the TTL are deleted by the outbox housekeeping (pruneIdempotencyKeys).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Database } from '../store/db.js';
import { isUniqueViolation, knexOf, toInt, type Queryable } from '../store/row-mapping.js';
import { activeSubscriberIds } from '../store/webhook-repository.js';
import type { SignalledEvent } from '../webhooks/types.js';
import { insertEventRows, storedEventData, type EnqueueResult } from './event-rows.js';
import { outboxBackend } from './outbox-backend.js';

export interface IdempotentResult extends EnqueueResult {
  /** The key was seen before (within the TTL): nothing was enqueued now, the result is the first request's. */
  replayed: boolean;
}

/** What identifies the request a key was first used for. */
export function requestHash(event: SignalledEvent): string {
  return createHash('sha256').update(`${event.eventName}\n${event.primaryKey}\n${storedEventData(event)}`, 'utf8').digest('hex');
}

async function stored(db: Queryable, associateId: number, key: string, since: number): Promise<Record<string, unknown> | undefined> {
  return (await knexOf(db)('wa_idempotency').where({ associate_id: associateId, idempotency_key: key }).andWhere('created', '>', since)
    .first('request_hash', 'event_id', 'deliveries')) as Record<string, unknown> | undefined;
}

function replay(row: Record<string, unknown>, hash: string): IdempotentResult {
  if (row.request_hash !== hash) {
    throw new AppError('conflict', 'Idempotency-Key: already used for a different request (event name, primary key or data)', { field: 'Idempotency-Key' });
  }
  return { eventId: row.event_id === null ? null : toInt(row.event_id), deliveries: toInt(row.deliveries), replayed: true };
}

export async function enqueueIdempotent(
  db: Pick<Database, 'knex' | 'dialect'>,
  event: SignalledEvent,
  key: string,
  opts: { now: number; ttlMs: number },
): Promise<IdempotentResult> {
  const associateId = event.changedByAssociateId;
  const hash = requestHash(event);
  const since = opts.now - opts.ttlMs;
  const seen = await stored(db.knex, associateId, key, since);
  if (seen) return replay(seen, hash);
  try {
    return await db.knex.transaction(async (trx) => {
      // A row past its TTL that the housekeeping has not pruned yet no longer counts.
      await trx('wa_idempotency').where({ associate_id: associateId, idempotency_key: key }).andWhere('created', '<=', since).delete();
      await trx('wa_idempotency').insert({
        associate_id: associateId, idempotency_key: key, request_hash: hash, event_id: null, deliveries: 0, created: opts.now,
      });
      const ids = [...new Set(await activeSubscriberIds(trx, event.eventName))];
      if (ids.length === 0) return { eventId: null, deliveries: 0, replayed: false };
      const result = await insertEventRows(trx, event, ids, opts.now);
      await trx('wa_idempotency').where({ associate_id: associateId, idempotency_key: key })
        .update({ event_id: result.eventId, deliveries: result.deliveries });
      await outboxBackend(db).notify(trx);
      return { ...result, replayed: false };
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // A concurrent request with the same key committed first.
    const first = await stored(db.knex, associateId, key, since);
    if (!first) throw err;
    return replay(first, hash);
  }
}

/** Deletes idempotency keys older than the TTL, oldest first, in batches (of about batchSize rows); how many. */
export async function pruneIdempotencyKeys(db: Queryable, opts: { now: number; ttlMs: number; batchSize?: number; maxBatches?: number }): Promise<number> {
  const k = knexOf(db);
  const cutoff = opts.now - opts.ttlMs;
  const batchSize = opts.batchSize ?? 500;
  let n = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const rows = (await k('wa_idempotency').where('created', '<=', cutoff).orderBy('created').limit(batchSize).select('created')) as
      Array<{ created: unknown }>;
    if (rows.length === 0) break;
    n += await k('wa_idempotency').where('created', '<=', toInt(rows[rows.length - 1].created)).delete();
    if (rows.length < batchSize) break;
  }
  return n;
}
