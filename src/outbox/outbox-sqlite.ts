/**
 * SQLite fast path for the worker's hot loop: claim + load, and recording an attempt, run synchronously on the
 * pool's single better-sqlite3 connection, each in one BEGIN IMMEDIATE transaction, with statements prepared once
 * per connection.
 *
 * Why: with SQLite everything serialises on that one connection, so its time per delivery bounds throughput; going
 * through knex costs a statement compile, a `prepare` and several promise hops per query (bench/delivery.ts
 * measured roughly 0.8 ms per recording through knex, a fraction of that here). Same SQL semantics as the
 * general (knex) path in outbox-record.ts / outbox-repository.ts, which the other dialects use and which this
 * path falls back to for the rare case it does not handle: an attempt that turns a webhook to TooManyErrors
 * (that path enqueues `webhook{id}.errors` through knex in the same transaction). The fallback is safe because the
 * fast transaction is rolled back first, so the lease token still matches.
 */
import type { Knex } from 'knex';
import { releaseHeldSql, type ClaimRequest, type ClaimResult, type HoldRequest } from './claim-types.js';
import { extendRunsOn, sqliteClaimSql, sqliteHoldSql, sqliteReleaseStrandedSql } from './claim-sqlite.js';
import { claimedColumns, toClaimedDelivery } from './claimed-delivery.js';
import type { AttemptRecord, RecordResult } from './outbox-record.js';
import { capReport } from './send/outcome.js';
import { statement, withSqliteConnection, type SqliteConnection } from './outbox-sqlite-connection.js';
import type { SecretCodec } from '../store/secret-codec.js';

const loadSql = `select ${claimedColumns.join(', ')}
from wa_delivery d
join wa_event e on e.event_id = d.event_id
join webhook w on w.webhook_id = d.webhook_id
left join wa_webhook_setting s on s.webhook_id = d.webhook_id
where d.delivery_id in (select value from json_each(?)) and d.lease_token = ?`;

/**
 * Claims (claim-sqlite.ts semantics, runs included when req.runLength > 1) and loads what is needed to send, in
 * one immediate transaction; first holds blocked deliveries when `hold` is given (claim-deliveries.ts). Secrets are decoded with `secrets` after the
 * transaction, so decryption does not lengthen the single writer's critical section.
 */
export async function claimAndLoadSqlite(knex: Knex, req: ClaimRequest, hold: HoldRequest | undefined, secrets: SecretCodec): Promise<ClaimResult> {
  const { sql, bindings } = sqliteClaimSql(req);
  const holding = hold ? sqliteHoldSql(hold) : null;
  const { rows, held } = await withSqliteConnection(knex, (conn) =>
    conn.transaction(() => {
      const held = holding ? statement(conn, holding.sql).run(...holding.bindings).changes : 0;
      if (hold) statement(conn, sqliteReleaseStrandedSql).run(hold.now, hold.now);
      const claimed = (statement(conn, sql).all(...bindings) as Array<{ delivery_id: number }>).map((r) => Number(r.delivery_id));
      if (claimed.length === 0) return { rows: [], held };
      const tail = (req.runLength ?? 1) - 1;
      if (tail > 0) {
        for (const c of extendRunsOn(conn, { now: req.now, leaseMs: req.leaseMs, token: req.token, heads: claimed, tail })) claimed.push(c.deliveryId);
      }
      const rows = statement(conn, loadSql).all(JSON.stringify(claimed), req.token) as Array<Record<string, unknown>>;
      return { rows, held };
    }).immediate());
  return { deliveries: rows.map((r) => toClaimedDelivery(r, secrets)).sort((a, b) => a.deliveryId - b.deliveryId), held };
}

const sql = {
  deliveryPending: `update wa_delivery set held = 0, lease_until = null, lease_token = null, last_status = ?, last_error = ?, next_attempt_at = ?
    where delivery_id = ? and lease_token = ? and status = 'pending'`,
  deliveryFinished: `update wa_delivery set held = 0, lease_until = null, lease_token = null, last_status = ?, last_error = ?, status = ?, finished_at = ?
    where delivery_id = ? and lease_token = ? and status = 'pending'`,
  attempt: `insert into wa_attempt (delivery_id, attempt_no, started_at, duration_ms, http_status, outcome, error_class, response_excerpt)
    values (?, ?, ?, ?, ?, ?, ?, ?)`,
  usageSuccess: `update webhook_usage set total_calls = total_calls + 1, consecutive_errors = 0 where webhook_usage_id = ?
    returning consecutive_errors`,
  usageError: `update webhook_usage set total_calls = total_calls + 1, total_errors = total_errors + 1,
    consecutive_errors = consecutive_errors + 1, last_error = ? where webhook_usage_id = ? returning consecutive_errors`,
  ensureUsage: `insert into webhook_usage (webhook_usage_id, total_calls, total_errors, consecutive_errors, registered)
    select w.webhook_id, 0, 0, 0, ? from webhook w
    where w.webhook_id = ? and not exists (select 1 from webhook_usage u where u.webhook_usage_id = w.webhook_id)`,
  hookState: 'select state from webhook where webhook_id = ?',
} as const;

const needsGeneralPath = Symbol('needs the general path');

/**
 * Records an attempt like recordAttempt (outbox-record.ts). null when the attempt would turn the webhook to
 * TooManyErrors: nothing was written, use the general path.
 *
 * Attempts finishing in the same turn of the event loop are recorded in one IMMEDIATE transaction (group commit):
 * a commit per attempt was the largest single cost of a busy worker. Each attempt runs in its own savepoint, so
 * one that needs the general path (or fails) is rolled back alone and the others still commit.
 */
export function recordAttemptSqlite(knex: Knex, r: AttemptRecord): Promise<RecordResult | null> {
  return new Promise((resolve, reject) => {
    let batch = pendingRecords.get(knex);
    if (!batch) {
      batch = [];
      pendingRecords.set(knex, batch);
      setImmediate(() => void flushRecords(knex));
    }
    batch.push({ r, resolve, reject });
  });
}

interface PendingRecord {
  r: AttemptRecord;
  resolve: (v: RecordResult | null) => void;
  reject: (err: unknown) => void;
}

const pendingRecords = new WeakMap<Knex, PendingRecord[]>();

async function flushRecords(knex: Knex): Promise<void> {
  const batch = pendingRecords.get(knex) ?? [];
  pendingRecords.delete(knex);
  try {
    const outcomes = await withSqliteConnection(knex, (conn) => {
      const one = conn.transaction((r: AttemptRecord) => recordOne(conn, r));
      const all = conn.transaction(() => batch.map(({ r }): { ok: RecordResult | null } | { err: unknown } => {
        try {
          return { ok: one(r) };
        } catch (err) {
          return err === needsGeneralPath ? { ok: null } : { err };
        }
      }));
      return all.immediate();
    });
    outcomes.forEach((o, i) => ('err' in o ? batch[i].reject(o.err) : batch[i].resolve(o.ok)));
  } catch (err) {
    for (const p of batch) p.reject(err);
  }
}

function recordOne(conn: SqliteConnection, r: AttemptRecord): RecordResult {
  const t = r.transition;
  const lastError = r.usage === 'success' ? null : capReport(t.status !== 'pending' && t.note ? `${t.note}\n${r.report}` : r.report);
  const updated = t.status === 'pending'
    ? statement(conn, sql.deliveryPending).run(r.httpStatus, lastError, t.nextAttemptAt, r.deliveryId, r.leaseToken)
    : statement(conn, sql.deliveryFinished).run(r.httpStatus, lastError, t.status, r.now, r.deliveryId, r.leaseToken);
  if (updated.changes === 0) return { recorded: false, consecutiveErrors: 0, becameTooManyErrors: false };
  statement(conn, releaseHeldSql).run(r.now, r.webhookId);
  statement(conn, sql.attempt).run(r.deliveryId, r.attemptNo, r.startedAt, Math.max(0, Math.round(r.durationMs)), r.httpStatus,
    r.outcome, r.errorClass, r.report ? capReport(r.report) : null);
  let consecutiveErrors = 0;
  if (r.usage !== 'none') {
    const bump = () => (r.usage === 'success'
      ? statement(conn, sql.usageSuccess).get(r.webhookId)
      : statement(conn, sql.usageError).get(capReport(r.report), r.webhookId)) as { consecutive_errors: number } | undefined;
    let row = bump();
    if (!row) {
      statement(conn, sql.ensureUsage).run(r.now, r.webhookId);
      row = bump();
    }
    consecutiveErrors = Number(row?.consecutive_errors ?? 0);
  }
  if (r.usage === 'error' && (r.disableHook || consecutiveErrors >= r.maxConsecutiveErrors)) {
    const hook = statement(conn, sql.hookState).get(r.webhookId) as { state: number } | undefined;
    if (Number(hook?.state) === 1) throw needsGeneralPath;
  }
  return { recorded: true, consecutiveErrors, becameTooManyErrors: false };
}
