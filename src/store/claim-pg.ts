/**
 * PostgreSQL claim: FOR UPDATE OF d SKIP LOCKED lets concurrent workers pass over rows another worker is claiming
 * instead of waiting; a row whose claim committed meanwhile is re-checked by PostgreSQL against the WHERE (its new
 * lease excludes it). One statement, so one short transaction.
 */
import type { Knex } from 'knex';
import {
  blockedDeliveries, claimableDeliveries, releaseStrandedSql, skipBinding, sortClaims, toClaim, type Claim, type ClaimRequest, type ClaimSql, type HoldRequest,
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
  return { sql, bindings: [req.now, req.now, req.now, req.limit, req.holdUntil] };
}

export async function holdPg(knex: Knex, req: HoldRequest): Promise<number> {
  const { sql, bindings } = pgHoldSql(req);
  const result = (await knex.raw(sql, bindings)) as { rowCount: number | null };
  await knex.raw(pgReleaseStrandedSql, [req.now, req.now]);
  return result.rowCount ?? 0;
}

/** PostgreSQL runs the shared statement (claim-types.ts); it is exported under this name for symmetry with mssql. */
export const pgReleaseStrandedSql = releaseStrandedSql;

