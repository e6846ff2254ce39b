/**
 * Lease release (graceful shutdown) and retention, all in small batches: SQL Server escalates to a table lock at
 * about 5,000 row locks in one statement, and short statements keep housekeeping from blocking claims.
 */
import { chunked, knexOf, toInt, type Queryable } from '../store/row-mapping.js';

export const HOUSEKEEPING_BATCH = 500;

/** Claims grouped by what one UPDATE can give back together: same lease token (one claim round) and due time. */
function leaseGroups<T extends { deliveryId: number; leaseToken: string }>(claims: readonly T[], key: (c: T) => number | null): Array<{ token: string; due: number | null; ids: number[] }> {
  const groups = new Map<string, { token: string; due: number | null; ids: number[] }>();
  for (const c of claims) {
    const due = key(c);
    const k = `${c.leaseToken}\u0000${due}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { token: c.leaseToken, due, ids: [] }));
    g.ids.push(c.deliveryId);
  }
  return [...groups.values()];
}

async function giveBack(db: Queryable, claims: ReadonlyArray<{ deliveryId: number; leaseToken: string; until?: number }>): Promise<number> {
  const k = knexOf(db);
  let n = 0;
  for (const g of leaseGroups(claims, (c) => c.until ?? null)) {
    const changes: Record<string, unknown> = { lease_until: null, lease_token: null, attempt_count: k.raw('attempt_count - 1') };
    if (g.due !== null) changes.next_attempt_at = g.due;
    for (const ids of chunked(g.ids, HOUSEKEEPING_BATCH)) {
      n += await k('wa_delivery').where({ lease_token: g.token, status: 'pending' }).whereIn('delivery_id', ids).update(changes);
    }
  }
  return n;
}

/**
 * Gives claimed deliveries back without an attempt (shutdown, the unsent rest of a run): lease cleared,
 * attempt_count restored, due as before, so another worker (or this one after a restart) takes them at once.
 * Fenced by the lease token; one statement per claim round's token.
 */
export function releaseLeases(db: Queryable, claims: ReadonlyArray<{ deliveryId: number; leaseToken: string }>): Promise<number> {
  return giveBack(db, claims.map((c) => ({ deliveryId: c.deliveryId, leaseToken: c.leaseToken })));
}

/**
 * Gives claimed deliveries back unsent, due at `until` (the target's circuit is open or the host is at its cap,
 * outbox/send/target-gate.ts): the lease ends and the claim's attempt is not counted. Only rows still holding their
 * lease token are touched.
 */
export function deferLeases(db: Queryable, claims: ReadonlyArray<{ deliveryId: number; leaseToken: string; until: number }>): Promise<number> {
  return giveBack(db, claims);
}

/**
 * Pending deliveries created before now - retentionMs are expired (recorded, with the reason): a webhook left
 * Stopped or TooManyErrors does not keep a backlog forever. A delivery in flight (live lease) is left alone.
 * Returns how many were expired; at most maxBatches * HOUSEKEEPING_BATCH per call.
 */
export async function expireStaleDeliveries(db: Queryable, opts: { now: number; retentionMs: number; maxBatches?: number }): Promise<number> {
  const k = knexOf(db);
  const cutoff = opts.now - opts.retentionMs;
  let total = 0;
  for (let i = 0; i < (opts.maxBatches ?? 20); i++) {
    const ids = ((await k('wa_delivery')
      .where('status', 'pending')
      .andWhere('created', '<', cutoff)
      .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<=', opts.now))
      .orderBy('delivery_id')
      .limit(HOUSEKEEPING_BATCH)
      .select('delivery_id')) as Array<{ delivery_id: unknown }>).map((r) => toInt(r.delivery_id));
    if (ids.length === 0) break;
    total += await k('wa_delivery')
      .whereIn('delivery_id', ids)
      .andWhere('status', 'pending')
      .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<=', opts.now))
      .update({
        status: 'expired',
        finished_at: opts.now,
        lease_until: null,
        lease_token: null,
        last_error: `expired: still pending after the retention period of ${opts.retentionMs} ms`,
      });
    if (ids.length < HOUSEKEEPING_BATCH) break;
  }
  return total;
}

export interface PruneResult {
  attempts: number;
  deliveries: number;
  events: number;
}

/**
 * Deletes what is older than the retention period: attempts started before the cutoff, finished deliveries
 * (succeeded, failed_permanent, expired, cancelled) finished before it, and events left without deliveries.
 * Pending deliveries are never deleted here.
 */
export async function pruneOutbox(db: Queryable, opts: { now: number; retentionMs: number; maxBatches?: number }): Promise<PruneResult> {
  const k = knexOf(db);
  const cutoff = opts.now - opts.retentionMs;
  const maxBatches = opts.maxBatches ?? 20;
  const result: PruneResult = { attempts: 0, deliveries: 0, events: 0 };

  const batched = async (ids: () => Promise<number[]>, remove: (ids: number[]) => Promise<number>): Promise<number> => {
    let n = 0;
    for (let i = 0; i < maxBatches; i++) {
      const batch = await ids();
      if (batch.length === 0) break;
      n += await remove(batch);
      if (batch.length < HOUSEKEEPING_BATCH) break;
    }
    return n;
  };
  const column = (rows: Array<Record<string, unknown>>, name: string) => rows.map((r) => toInt(r[name]));

  result.attempts = await batched(
    async () => column(await k('wa_attempt').where('started_at', '<', cutoff).orderBy('attempt_id').limit(HOUSEKEEPING_BATCH).select('attempt_id'), 'attempt_id'),
    (ids) => k('wa_attempt').whereIn('attempt_id', ids).delete(),
  );
  result.deliveries = await batched(
    async () => column(await k('wa_delivery').whereNot('status', 'pending').andWhere('finished_at', '<', cutoff)
      .orderBy('delivery_id').limit(HOUSEKEEPING_BATCH).select('delivery_id'), 'delivery_id'),
    async (ids) => {
      await k('wa_attempt').whereIn('delivery_id', ids).delete();
      return k('wa_delivery').whereIn('delivery_id', ids).whereNot('status', 'pending').delete();
    },
  );
  result.events = await batched(
    async () => column(await k('wa_event as e').where('e.created', '<', cutoff)
      .whereNotExists(k('wa_delivery as d').whereRaw('d.event_id = e.event_id').select(k.raw('1')))
      .orderBy('e.event_id').limit(HOUSEKEEPING_BATCH).select('e.event_id'), 'event_id'),
    (ids) => k('wa_event').whereIn('event_id', ids)
      .whereNotExists(k('wa_delivery as d').whereRaw('d.event_id = wa_event.event_id').select(k.raw('1'))).delete(),
  );
  return result;
}
