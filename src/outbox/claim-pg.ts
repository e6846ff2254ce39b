/**
 * PostgreSQL claim: FOR UPDATE OF d SKIP LOCKED lets concurrent workers pass over rows another worker is claiming
 * instead of waiting; a row whose claim committed meanwhile is re-checked by PostgreSQL against the WHERE (its new
 * lease excludes it). One statement, so one short transaction.
 */
import type { Knex } from 'knex';
import {
  blockedDeliveries, claimableDeliveries, releaseStrandedSql, runCandidates, runPrefix, skipBinding, sortClaims, toClaim, type Claim, type ClaimRequest,
  type ClaimSql, type HoldRequest, type RunRequest,
} from './claim-types.js';

export function pgClaimSql(req: ClaimRequest): ClaimSql {
  const sql = `
with picked as (
  ${claimableDeliveries('d', (c) => `(${c} = any (select jsonb_array_elements_text(?::jsonb)::bigint))`)}
  for update of d skip locked
)
update wa_delivery d
set lease_until = ?, lease_token = ?, attempt_count = d.attempt_count + 1, held = 0
from picked
where d.delivery_id = picked.delivery_id
returning d.delivery_id, d.attempt_count, d.lease_token`;
  return { sql, bindings: [req.now, req.now, skipBinding(req), req.now, req.limit, req.now + req.leaseMs, req.token] };
}

export async function claimPg(knex: Knex, req: ClaimRequest): Promise<Claim[]> {
  const { sql, bindings } = pgClaimSql(req);
  const result = (await knex.raw(sql, bindings)) as { rows: Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }> };
  return sortClaims(result.rows.map(toClaim));
}

/**
 * Extends the claimed heads into runs (claim-deliveries.ts, "Runs"): one statement, the candidates of each head
 * through LATERAL. No SKIP LOCKED here: skipping a row would let a younger delivery pass it. Nothing else can claim
 * these rows (the head blocks them), so the UPDATE's own re-check of status and lease is all the locking needed; a
 * row a concurrent hold or release changed is re-checked by PostgreSQL and still taken.
 */
export function pgRunSql(req: RunRequest): ClaimSql {
  const sql = `
with heads as (
  select h.delivery_id, h.webhook_id from wa_delivery h
  where h.delivery_id = any (select jsonb_array_elements_text(?::jsonb)::bigint) and h.lease_token = ?
), cand as (
  select r.head_id, r.delivery_id, r.lease_until from heads cross join lateral (
    ${runCandidates('t', 'heads.webhook_id', 'heads.delivery_id')}
  ) r
), picked as (
  ${runPrefix}
)
update wa_delivery d
set lease_until = ?, lease_token = ?, attempt_count = d.attempt_count + 1, held = 0, next_attempt_at = least(d.next_attempt_at, ?)
from picked
where d.delivery_id = picked.delivery_id and d.status = 'pending' and (d.lease_until is null or d.lease_until <= ?)
returning d.delivery_id, d.attempt_count, d.lease_token`;
  return {
    sql,
    bindings: [JSON.stringify(req.heads.map(Number)), req.token, req.now, req.tail, req.now, req.now + req.leaseMs, req.token, req.now, req.now],
  };
}

export async function extendRunsPg(knex: Knex, req: RunRequest): Promise<Claim[]> {
  if (req.tail <= 0 || req.heads.length === 0) return [];
  const { sql, bindings } = pgRunSql(req);
  const result = (await knex.raw(sql, bindings)) as { rows: Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }> };
  return sortClaims(result.rows.map(toClaim));
}

/** Holds blocked due deliveries (claim-deliveries.ts); SKIP LOCKED so it never waits on a claim. */
export function pgHoldSql(req: HoldRequest): ClaimSql {
  const sql = `
with blocked as (
  ${blockedDeliveries('b')}
  for update of b skip locked
)
update wa_delivery d
set next_attempt_at = ?, held = 1
from blocked
where d.delivery_id = blocked.delivery_id`;
  return { sql, bindings: [req.dueBefore ?? req.now, req.now, req.now, req.limit, req.holdUntil] };
}

export async function holdPg(knex: Knex, req: HoldRequest): Promise<number> {
  const { sql, bindings } = pgHoldSql(req);
  const result = (await knex.raw(sql, bindings)) as { rowCount: number | null };
  await knex.raw(pgReleaseStrandedSql, [req.now, req.now]);
  return result.rowCount ?? 0;
}

/** PostgreSQL runs the shared statement (claim-types.ts); it is exported under this name for symmetry with mssql. */
export const pgReleaseStrandedSql = releaseStrandedSql;

