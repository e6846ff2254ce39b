/** Types and SQL shared by the per-dialect claim files and the recording (claim-deliveries.ts explains both). */
import type { ClaimedDelivery } from './claimed-delivery.js';
import { STATE_CODE } from '../webhooks/types.js';

export interface ClaimRequest {
  /** Epoch ms (the worker's clock). */
  now: number;
  leaseMs: number;
  limit: number;
  /** Fresh per claim (uuid). */
  token: string;
  /**
   * Webhooks not to claim this round: their target is at its in-flight cap or its circuit is open
   * (outbox/send/target-gate.ts), so their deliveries leave the claim's slots to other webhooks.
   */
  skipWebhookIds?: readonly number[];
  /**
   * Deliveries per webhook taken in this round (claimAndLoad): the one the claim picks (the webhook's head) and up to
   * runLength - 1 of the webhook's next ones, in order, under the same lease (claim-deliveries.ts, "Runs"). Default 1.
   */
  runLength?: number;
}

/** Extends claimed heads into runs: the next deliveries of each head's webhook, under the head's lease token. */
export interface RunRequest {
  now: number;
  leaseMs: number;
  token: string;
  /** Delivery ids claimed with `token` this round. */
  heads: readonly number[];
  /** At most this many deliveries after each head. */
  tail: number;
}

/** The skip list as the one JSON-array binding every dialect's claim reads it from. */
export const skipBinding = (req: ClaimRequest): string => JSON.stringify((req.skipWebhookIds ?? []).map(Number).filter(Number.isSafeInteger));

/** Moves due deliveries that are blocked behind an older one of their webhook out of the due range. */
export interface HoldRequest {
  now: number;
  /** The held deliveries' new next_attempt_at: they are looked at again then, unless released earlier. */
  holdUntil: number;
  limit: number;
  /**
   * Only deliveries due since before this are held (default now): one blocked for a moment behind a run in flight
   * is left alone (claim-deliveries.ts, "Holding").
   */
  dueBefore?: number;
}

export interface Claim {
  deliveryId: number;
  /** attempt_count after the claim: this attempt's number, 1-based. */
  attemptNo: number;
  leaseToken: string;
}

export interface ClaimResult {
  /** Claimed deliveries with what is needed to send them, oldest first. */
  deliveries: ClaimedDelivery[];
  /** Deliveries held by the hold step of this round (0 when none ran). */
  held: number;
}

export interface ClaimSql {
  sql: string;
  bindings: Array<string | number>;
}

/** Row -> Claim, for the drivers' different integer types (pg and mssql return bigint as string). */
export function toClaim(row: { delivery_id: unknown; attempt_count: unknown; lease_token: unknown }): Claim {
  return { deliveryId: Number(row.delivery_id), attemptNo: Number(row.attempt_count), leaseToken: String(row.lease_token) };
}

/** Oldest delivery first, whatever order the driver returned the rows in. */
export function sortClaims(claims: Claim[]): Claim[] {
  return claims.sort((a, b) => a.deliveryId - b.deliveryId);
}

/**
 * The release done when an attempt is recorded: the oldest held delivery of the webhook becomes due now (the same
 * text on every dialect). Bindings: now, webhook id.
 */
export const releaseHeldSql = `update wa_delivery set next_attempt_at = ?, held = 0
where delivery_id = (select min(h.delivery_id) from wa_delivery h where h.webhook_id = ? and h.status = 'pending' and h.held = 1)`;

/**
 * The claim's criteria as PostgreSQL and SQLite run them (claim-mssql.ts spells the same ones with SQL Server's
 * table hints): `a` is due and not leased. Bindings: now, now.
 */
const dueAndUnleased = (a: string) =>
  `${a}.status = 'pending'
    and ${a}.next_attempt_at <= ?
    and (${a}.lease_until is null or ${a}.lease_until <= ?)`;

/**
 * An older pending delivery of `a`'s webhook is due, in flight or held: `a` must wait (one delivery in flight per
 * webhook, in event order). Bindings: now.
 */
const olderDeliveryPending = (a: string) =>
  `select 1 from wa_delivery o
      where o.webhook_id = ${a}.webhook_id
        and o.status = 'pending'
        and o.delivery_id < ${a}.delivery_id
        and (o.next_attempt_at <= ? or o.held = 1)`;

/** The webhook of `a` is Active (1): deliveries of Stopped/TooManyErrors hooks stay parked. */
const webhookActive = (a: string) => `exists (select 1 from webhook w where w.webhook_id = ${a}.webhook_id and w.state = ${STATE_CODE.Active})`;

/**
 * What a claim takes on PostgreSQL and SQLite (each wraps it in its own UPDATE and locking; SQL Server writes its
 * own with table hints): due deliveries whose webhook is Active, not on the skip list and has nothing older
 * pending, oldest first, at most `limit`. `skipped` is the dialect's "webhook id in the JSON array bound here".
 * Bindings: now, now, skip list (JSON), now, limit.
 */
export const claimableDeliveries = (a: string, skipped: (column: string) => string) =>
  `select ${a}.delivery_id
  from wa_delivery ${a}
  where ${dueAndUnleased(a)}
    and ${webhookActive(a)}
    and not ${skipped(`${a}.webhook_id`)}
    and not exists (${olderDeliveryPending(a)})
  order by ${a}.next_attempt_at, ${a}.delivery_id
  limit ?`;

/**
 * What a run may take after a head (PostgreSQL and SQLite; `webhookId` and `headId` are SQL expressions for the
 * head's columns): the next pending deliveries of its webhook that are due or held, oldest first, at most `limit`
 * (a delivery waiting for its retry is passed over, as the claim passes over it). Leased ones are listed too, so the
 * run can stop before the first of them: nothing younger may go out while an older delivery is in flight.
 * Bindings: now, limit.
 */
export const runCandidates = (t: string, webhookId: string, headId: string) =>
  `select ${headId} as head_id, ${t}.delivery_id, ${t}.lease_until
  from wa_delivery ${t}
  where ${t}.webhook_id = ${webhookId}
    and ${t}.status = 'pending'
    and ${t}.delivery_id > ${headId}
    and (${t}.next_attempt_at <= ? or ${t}.held = 1)
  order by ${t}.delivery_id
  limit ?`;

/**
 * The candidates (a CTE `cand` with head_id, delivery_id, lease_until) a run takes: those before the first one
 * leased, per head. Bindings: now.
 */
export const runPrefix = `select c.delivery_id from cand c
  where not exists (select 1 from cand l where l.head_id = c.head_id and l.delivery_id <= c.delivery_id and l.lease_until > ?)`;

/** What a hold moves on PostgreSQL and SQLite: due deliveries blocked behind an older one. Bindings as above. */
export const blockedDeliveries = (a: string) =>
  `select ${a}.delivery_id
  from wa_delivery ${a}
  where ${dueAndUnleased(a)}
    and exists (${olderDeliveryPending(a)})
  order by ${a}.next_attempt_at, ${a}.delivery_id
  limit ?`;

/**
 * Releases the oldest held delivery of every webhook that has nothing older due, in flight or held: the repair for
 * a release recordAttempt missed because a concurrent hold had not committed yet (claim-deliveries.ts). The same
 * text on PostgreSQL and SQLite; SQL Server has its own (claim-mssql.ts). Bindings: now, now.
 */
export const releaseStrandedSql = `
update wa_delivery
set next_attempt_at = ?, held = 0
where delivery_id in (
  select min(h.delivery_id) from wa_delivery h where h.held = 1 and h.status = 'pending' group by h.webhook_id
)
  and not exists (
    select 1 from wa_delivery o
    where o.webhook_id = wa_delivery.webhook_id
      and o.status = 'pending'
      and o.held = 0
      and o.delivery_id < wa_delivery.delivery_id
      and o.next_attempt_at <= ?
  )`;
