/**
 * SQL Server claim: a CTE that reads due rows WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK), ordered by the
 * claim index (ix_wa_delivery_claim: status, next_attempt_at, delivery_id), updated through the CTE with
 * OUTPUT inserted.* so the claimed rows come back from the same statement.
 * - UPDLOCK + ROWLOCK: a claimed row is locked for update, row by row (no page/table locks between workers).
 * - READPAST: skip rows another worker is claiming instead of waiting on them.
 * - READCOMMITTEDLOCK: keeps the locking read under READ_COMMITTED_SNAPSHOT (RCSI), where READPAST/UPDLOCK would
 *   otherwise read row versions and two workers could claim the same row (rebus-org/Rebus.SqlServer#35).
 * The per-webhook "older delivery due or in flight" check reads WITH (READUNCOMMITTED): it must see a row another
 * worker is claiming right now (READPAST would skip it and allow two in flight for one webhook) without waiting on
 * that worker's lock, which, with two workers checking each other's webhooks, would deadlock. Reading an
 * uncommitted claim or outcome only shifts when the next delivery of that webhook starts; it cannot double-claim a
 * row, which the UPDLOCK read prevents.
 * TOP + ORDER BY inside the CTE: UPDATE TOP (n) alone has no order.
 * The skip list (webhooks whose target is saturated or whose circuit is open, claim-types.ts) comes as one JSON
 * array read with OPENJSON (SQL Server 2016+), so the statement text stays the same whatever its length.
 */
import type { Knex } from 'knex';
import { skipBinding, sortClaims, toClaim, type Claim, type ClaimRequest, type ClaimSql, type HoldRequest, type RunRequest } from './claim-types.js';

export const mssqlClaimHints = 'WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)';

export function mssqlClaimSql(req: ClaimRequest): ClaimSql {
  const sql = `
WITH picked AS (
  SELECT TOP (?) d.delivery_id, d.lease_until, d.lease_token, d.attempt_count, d.held
  FROM [wa_delivery] AS d ${mssqlClaimHints}
  WHERE d.status = 'pending'
    AND d.next_attempt_at <= ?
    AND (d.lease_until IS NULL OR d.lease_until <= ?)
    AND EXISTS (SELECT 1 FROM [webhook] AS w WHERE w.webhook_id = d.webhook_id AND w.state = 1)
    AND d.webhook_id NOT IN (SELECT CAST([value] AS bigint) FROM OPENJSON(?))
    AND NOT EXISTS (
      SELECT 1 FROM [wa_delivery] AS o WITH (READUNCOMMITTED)
      WHERE o.webhook_id = d.webhook_id
        AND o.status = 'pending'
        AND o.delivery_id < d.delivery_id
        AND (o.next_attempt_at <= ? OR o.held = 1)
    )
  ORDER BY d.next_attempt_at, d.delivery_id
)
UPDATE picked
SET lease_until = ?, lease_token = ?, attempt_count = attempt_count + 1, held = 0
OUTPUT inserted.delivery_id, inserted.attempt_count, inserted.lease_token;`;
  return { sql, bindings: [req.limit, req.now, req.now, skipBinding(req), req.now, req.now + req.leaseMs, req.token] };
}

export async function claimMssql(knex: Knex, req: ClaimRequest): Promise<Claim[]> {
  const { sql, bindings } = mssqlClaimSql(req);
  const rows = (await knex.raw(sql, bindings)) as Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }>;
  return sortClaims(rows.map(toClaim));
}

/**
 * Extends the claimed heads into runs (claim-deliveries.ts, "Runs"), as claim-pg.ts pgRunSql with CROSS APPLY for
 * LATERAL. The candidates are read WITH (READCOMMITTEDLOCK) (committed rows under RCSI too) and without READPAST:
 * skipping a locked row would let a younger delivery pass it. The UPDATE re-checks status and lease on the row it
 * locks; nothing else can claim these rows while their head is leased.
 */
export function mssqlRunSql(req: RunRequest): ClaimSql {
  const sql = `
WITH heads AS (
  SELECT h.delivery_id, h.webhook_id FROM [wa_delivery] AS h
  WHERE h.delivery_id IN (SELECT CAST([value] AS bigint) FROM OPENJSON(?)) AND h.lease_token = ?
), cand AS (
  SELECT heads.delivery_id AS head_id, r.delivery_id, r.lease_until FROM heads
  CROSS APPLY (
    SELECT TOP (?) t.delivery_id, t.lease_until FROM [wa_delivery] AS t WITH (READCOMMITTEDLOCK)
    WHERE t.webhook_id = heads.webhook_id
      AND t.status = 'pending'
      AND t.delivery_id > heads.delivery_id
      AND (t.next_attempt_at <= ? OR t.held = 1)
    ORDER BY t.delivery_id
  ) AS r
), picked AS (
  SELECT c.delivery_id FROM cand AS c
  WHERE NOT EXISTS (SELECT 1 FROM cand AS l WHERE l.head_id = c.head_id AND l.delivery_id <= c.delivery_id AND l.lease_until > ?)
)
UPDATE d
SET lease_until = ?, lease_token = ?, attempt_count = d.attempt_count + 1, held = 0,
  next_attempt_at = CASE WHEN d.next_attempt_at < ? THEN d.next_attempt_at ELSE ? END
OUTPUT inserted.delivery_id, inserted.attempt_count, inserted.lease_token
FROM [wa_delivery] AS d WITH (ROWLOCK)
JOIN picked ON picked.delivery_id = d.delivery_id
WHERE d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= ?);`;
  return {
    sql,
    bindings: [JSON.stringify(req.heads.map(Number)), req.token, req.tail, req.now, req.now, req.now + req.leaseMs, req.token, req.now, req.now, req.now],
  };
}

export async function extendRunsMssql(knex: Knex, req: RunRequest): Promise<Claim[]> {
  if (req.tail <= 0 || req.heads.length === 0) return [];
  const { sql, bindings } = mssqlRunSql(req);
  const rows = (await knex.raw(sql, bindings)) as Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }>;
  return sortClaims(rows.map(toClaim));
}

/**
 * Holds blocked due deliveries (claim-deliveries.ts): the claim's hints and order, at most `limit` rows (kept well
 * under SQL Server's lock escalation threshold of about 5,000 locks).
 */
export function mssqlHoldSql(req: HoldRequest): ClaimSql {
  const sql = `
WITH blocked AS (
  SELECT TOP (?) b.delivery_id, b.next_attempt_at, b.held
  FROM [wa_delivery] AS b ${mssqlClaimHints}
  WHERE b.status = 'pending'
    AND b.next_attempt_at <= ?
    AND (b.lease_until IS NULL OR b.lease_until <= ?)
    AND EXISTS (
      SELECT 1 FROM [wa_delivery] AS o WITH (READUNCOMMITTED)
      WHERE o.webhook_id = b.webhook_id
        AND o.status = 'pending'
        AND o.delivery_id < b.delivery_id
        AND (o.next_attempt_at <= ? OR o.held = 1)
    )
  ORDER BY b.next_attempt_at, b.delivery_id
)
UPDATE blocked
SET next_attempt_at = ?, held = 1
OUTPUT inserted.delivery_id;`;
  return { sql, bindings: [req.limit, req.dueBefore ?? req.now, req.now, req.now, req.holdUntil] };
}

export async function holdMssql(knex: Knex, req: HoldRequest): Promise<number> {
  const { sql, bindings } = mssqlHoldSql(req);
  const rows = (await knex.raw(sql, bindings)) as unknown[];
  await knex.raw(mssqlReleaseStrandedSql, [req.now, req.now]);
  return rows.length;
}

/** As claim-pg.ts pgReleaseStrandedSql; the check reads uncommitted rows, like the claim's order check. */
export const mssqlReleaseStrandedSql = `
UPDATE [wa_delivery]
SET next_attempt_at = ?, held = 0
WHERE delivery_id IN (
  SELECT MIN(h.delivery_id) FROM [wa_delivery] AS h WHERE h.held = 1 AND h.status = 'pending' GROUP BY h.webhook_id
)
  AND NOT EXISTS (
    SELECT 1 FROM [wa_delivery] AS o WITH (READUNCOMMITTED)
    WHERE o.webhook_id = [wa_delivery].webhook_id
      AND o.status = 'pending'
      AND o.held = 0
      AND o.delivery_id < [wa_delivery].delivery_id
      AND o.next_attempt_at <= ?
  );`;
