/**
 * SQL Server claim: a CTE that reads due rows WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK), ordered by the
 * claim index (ix_wa_delivery_claim: status, next_attempt_at, delivery_id), updated through the CTE with
 * OUTPUT inserted.* INTO a table variable the batch then selects from, so the claimed rows come back from the same
 * statement.
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
 * OUTPUT ... INTO, never a bare OUTPUT: SQL Server refuses OUTPUT without INTO (Msg 334) on a table with an enabled
 * trigger, which a DBA or other software may add to any table of a CRM database (store/mssql-output.ts).
 * Id lists (the skip list, a run's heads) are bound one parameter per id, `IN (?, ?, ...)`, not read from a JSON
 * array with OPENJSON: OPENJSON needs database compatibility level 130, and a CRM database upgraded in place from
 * SQL Server 2014 or older keeps its lower level on a newer server. A request takes at most 2,100 parameters
 * (mssqlIdList).
 */
import type { Knex } from 'knex';
import { chunked, MAX_BINDINGS } from '../store/row-mapping.js';
import { outputTableDeclaration } from '../store/mssql-output.js';
import { sortClaims, toClaim, type Claim, type ClaimRequest, type ClaimSql, type HoldRequest, type RunRequest } from './claim-types.js';
import { STATE_CODE } from '../webhooks/types.js';

export const mssqlClaimHints = 'WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)';

/** SQL Server takes at most 2,100 parameters per request; an id list binds at most this many, leaving room. */
export const MSSQL_MAX_LIST_PARAMETERS = MAX_BINDINGS;

/**
 * `(?, ?, ...)` and its bindings for a list of integer ids. Past MSSQL_MAX_LIST_PARAMETERS the rest are written as
 * integer literals (checked to be safe integers, so nothing but digits reaches the text). Empty lists have no SQL
 * form (`IN ()` is a syntax error): callers leave the predicate out.
 */
export function mssqlIdList(ids: readonly number[]): { sql: string; bindings: number[] } {
  const clean = ids.map(Number).filter(Number.isSafeInteger);
  if (clean.length === 0) throw new RangeError('mssqlIdList: an empty list has no SQL form');
  const bound = clean.slice(0, MSSQL_MAX_LIST_PARAMETERS);
  const inlined = clean.slice(MSSQL_MAX_LIST_PARAMETERS).map(String);
  return { sql: `(${[...bound.map(() => '?'), ...inlined].join(', ')})`, bindings: bound };
}

/** The claim's and the run's OUTPUT columns, in the table variable they go INTO. */
const claimedColumns = { delivery_id: 'bigint', attempt_count: 'int', lease_token: 'nvarchar(36)' } as const;
const claimedTable = outputTableDeclaration('@claimed', claimedColumns);
const claimedOutput = 'OUTPUT inserted.delivery_id, inserted.attempt_count, inserted.lease_token INTO @claimed';
const selectClaimed = 'SELECT delivery_id, attempt_count, lease_token FROM @claimed;';

export function mssqlClaimSql(req: ClaimRequest): ClaimSql {
  const skipIds = (req.skipWebhookIds ?? []).map(Number).filter(Number.isSafeInteger);
  const skip = skipIds.length > 0 ? mssqlIdList(skipIds) : undefined;
  const sql = `
${claimedTable};
WITH picked AS (
  SELECT TOP (?) d.delivery_id, d.lease_until, d.lease_token, d.attempt_count, d.held
  FROM [wa_delivery] AS d ${mssqlClaimHints}
  WHERE d.status = 'pending'
    AND d.next_attempt_at <= ?
    AND (d.lease_until IS NULL OR d.lease_until <= ?)
    AND EXISTS (SELECT 1 FROM [webhook] AS w WHERE w.webhook_id = d.webhook_id AND w.state = ${STATE_CODE.Active})${skip ? `
    AND d.webhook_id NOT IN ${skip.sql}` : ''}
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
${claimedOutput};
${selectClaimed}`;
  return { sql, bindings: [req.limit, req.now, req.now, ...(skip?.bindings ?? []), req.now, req.now + req.leaseMs, req.token] };
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
 * A run stops before the first leased candidate of its head: `first_leased`, a window MIN over the head's candidates,
 * so the candidates are read once (SQL Server does not materialise a CTE: the NOT EXISTS over a second reference to
 * it, as PostgreSQL and SQLite write it, ran the CROSS APPLY twice).
 * At most MSSQL_MAX_LIST_PARAMETERS heads per statement (extendRunsMssql runs one statement per chunk).
 */
export function mssqlRunSql(req: RunRequest): ClaimSql {
  if (req.heads.length > MSSQL_MAX_LIST_PARAMETERS) throw new RangeError(`mssqlRunSql: at most ${MSSQL_MAX_LIST_PARAMETERS} heads per statement`);
  const heads = mssqlIdList(req.heads);
  const sql = `
${claimedTable};
WITH heads AS (
  SELECT h.delivery_id, h.webhook_id FROM [wa_delivery] AS h
  WHERE h.delivery_id IN ${heads.sql} AND h.lease_token = ?
), cand AS (
  SELECT r.delivery_id,
    MIN(CASE WHEN r.lease_until > ? THEN r.delivery_id END) OVER (PARTITION BY heads.delivery_id) AS first_leased
  FROM heads
  CROSS APPLY (
    SELECT TOP (?) t.delivery_id, t.lease_until FROM [wa_delivery] AS t WITH (READCOMMITTEDLOCK)
    WHERE t.webhook_id = heads.webhook_id
      AND t.status = 'pending'
      AND t.delivery_id > heads.delivery_id
      AND (t.next_attempt_at <= ? OR t.held = 1)
    ORDER BY t.delivery_id
  ) AS r
)
UPDATE d
SET lease_until = ?, lease_token = ?, attempt_count = d.attempt_count + 1, held = 0,
  next_attempt_at = CASE WHEN d.next_attempt_at < ? THEN d.next_attempt_at ELSE ? END
${claimedOutput}
FROM [wa_delivery] AS d WITH (ROWLOCK)
JOIN cand ON cand.delivery_id = d.delivery_id
WHERE (cand.first_leased IS NULL OR cand.delivery_id < cand.first_leased)
  AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= ?);
${selectClaimed}`;
  return {
    sql,
    bindings: [...heads.bindings, req.token, req.now, req.tail, req.now, req.now + req.leaseMs, req.token, req.now, req.now, req.now],
  };
}

export async function extendRunsMssql(knex: Knex, req: RunRequest): Promise<Claim[]> {
  if (req.tail <= 0 || req.heads.length === 0) return [];
  const out: Claim[] = [];
  for (const heads of chunked(req.heads, MSSQL_MAX_LIST_PARAMETERS)) {
    const { sql, bindings } = mssqlRunSql({ ...req, heads });
    const rows = (await knex.raw(sql, bindings)) as Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }>;
    out.push(...rows.map(toClaim));
  }
  return sortClaims(out);
}

/**
 * Holds blocked due deliveries (claim-deliveries.ts): the claim's hints and order, at most `limit` rows (kept well
 * under SQL Server's lock escalation threshold of about 5,000 locks).
 */
export function mssqlHoldSql(req: HoldRequest): ClaimSql {
  const sql = `
${outputTableDeclaration('@held', { delivery_id: 'bigint' })};
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
OUTPUT inserted.delivery_id INTO @held;
SELECT delivery_id FROM @held;`;
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
