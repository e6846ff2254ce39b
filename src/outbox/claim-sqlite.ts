/**
 * SQLite claim: one UPDATE ... WHERE delivery_id IN (due rows) RETURNING, run synchronously on the pool's single
 * better-sqlite3 connection inside BEGIN IMMEDIATE (better-sqlite3's transaction().immediate()). IMMEDIATE takes
 * the write lock before reading, so a second process writing the same file (the SOAP service enqueueing while a
 * separate worker claims) waits on busy_timeout instead of failing with SQLITE_BUSY on a stale read snapshot.
 * Only one worker process may claim from a SQLite file (outbox/outbox-worker-lock.ts).
 */
import type { Knex } from 'knex';
import { statement, withSqliteConnection, type SqliteConnection } from './outbox-sqlite-connection.js';
import {
  blockedDeliveries, claimableDeliveries, releaseStrandedSql, runCandidates, runPrefix, skipBinding, sortClaims, toClaim, type Claim, type ClaimRequest,
  type ClaimSql, type HoldRequest, type RunRequest,
} from './claim-types.js';

export function sqliteClaimSql(req: ClaimRequest): ClaimSql {
  const sql = `
update wa_delivery
set lease_until = ?, lease_token = ?, attempt_count = attempt_count + 1, held = 0
where delivery_id in (
  ${claimableDeliveries('d', (c) => `(${c} in (select value from json_each(?)))`)}
)
returning delivery_id, attempt_count, lease_token`;
  return { sql, bindings: [req.now + req.leaseMs, req.token, req.now, req.now, skipBinding(req), req.now, req.limit] };
}

export async function claimSqlite(knex: Knex, req: ClaimRequest): Promise<Claim[]> {
  const { sql, bindings } = sqliteClaimSql(req);
  return withSqliteConnection(knex, (conn) => {
    const rows = conn.transaction(() => statement(conn, sql).all(...bindings)).immediate() as Array<{
      delivery_id: unknown; attempt_count: unknown; lease_token: unknown;
    }>;
    return sortClaims(rows.map(toClaim));
  });
}

/**
 * Extends one claimed head into a run (claim-deliveries.ts, "Runs"); run once per head, inside the claim's
 * transaction (SQLite has no LATERAL, and on the single connection a statement per head costs no round trip).
 * A run's deliveries stay due (next_attempt_at at most now, also for held ones), so they block younger ones as an
 * in-flight delivery does.
 */
export function sqliteRunSql(req: RunRequest, head: number): ClaimSql {
  const sql = `
with h as (select delivery_id, webhook_id from wa_delivery where delivery_id = ? and lease_token = ?),
cand as (
  ${runCandidates('t', '(select webhook_id from h)', '(select delivery_id from h)')}
)
update wa_delivery
set lease_until = ?, lease_token = ?, attempt_count = attempt_count + 1, held = 0, next_attempt_at = min(next_attempt_at, ?)
where delivery_id in (${runPrefix})
returning delivery_id, attempt_count, lease_token`;
  return { sql, bindings: [head, req.token, req.now, req.tail, req.now + req.leaseMs, req.token, req.now, req.now] };
}

/** Runs sqliteRunSql for each head on the connection, inside the caller's transaction. */
export function extendRunsOn(conn: SqliteConnection, req: RunRequest): Claim[] {
  if (req.tail <= 0) return [];
  const out: Claim[] = [];
  for (const head of req.heads) {
    const { sql, bindings } = sqliteRunSql(req, head);
    const rows = statement(conn, sql).all(...bindings) as Array<{ delivery_id: unknown; attempt_count: unknown; lease_token: unknown }>;
    out.push(...rows.map(toClaim));
  }
  return sortClaims(out);
}

export async function extendRunsSqlite(knex: Knex, req: RunRequest): Promise<Claim[]> {
  return withSqliteConnection(knex, (conn) => conn.transaction(() => extendRunsOn(conn, req)).immediate());
}

/** Holds blocked due deliveries (claim-deliveries.ts). */
export function sqliteHoldSql(req: HoldRequest): ClaimSql {
  const sql = `
update wa_delivery
set next_attempt_at = ?, held = 1
where delivery_id in (
  ${blockedDeliveries('b')}
)`;
  return { sql, bindings: [req.holdUntil, req.dueBefore ?? req.now, req.now, req.now, req.limit] };
}

export async function holdSqlite(knex: Knex, req: HoldRequest): Promise<number> {
  const { sql, bindings } = sqliteHoldSql(req);
  return withSqliteConnection(knex, (conn) => conn.transaction(() => {
    const held = statement(conn, sql).run(...bindings).changes;
    statement(conn, sqliteReleaseStrandedSql).run(req.now, req.now);
    return held;
  }).immediate());
}

/**
 * With one connection a release cannot miss a hold (both are serialised), but running the shared statement keeps
 * the three dialects' behaviour the same.
 */
export const sqliteReleaseStrandedSql = releaseStrandedSql;
