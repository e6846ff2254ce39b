/**
 * Recording an attempt: one short transaction after the HTTP call, fenced by the lease token.
 *
 * The delivery row is updated only `WHERE delivery_id = ? AND lease_token = ? AND status = 'pending'`. If that
 * matches nothing, the lease was lost (it ran out and another worker claimed the delivery, or the webhook was
 * deleted and the delivery cancelled): nothing at all is recorded, so a stale worker cannot overwrite a newer claim
 * nor count the attempt twice.
 *
 * Then, in the same transaction: the release of the webhook's oldest held delivery (claim-deliveries.ts), the
 * wa_attempt row, NetServer's webhook_usage counters (total_calls,
 * total_errors, consecutive_errors reset to 0 by a success, last_error), and the state rule: at
 * maxConsecutiveErrors failed attempts in a row, or at once on 410, an Active webhook becomes TooManyErrors (3).
 * The caller's onTooManyErrors runs inside the transaction (it enqueues `webhook{id}.errors`), so the state
 * change and its event commit together.
 *
 * This is the knex form, which the server dialects' backends use (backends/*.ts); SQLite's backend runs the same
 * steps on the synchronous fast path of outbox-sqlite.ts outside a caller's transaction, and comes back here for an
 * attempt that changes the webhook's state. record-attempt.ts is the entry point that picks the backend.
 */
import type { Knex } from 'knex';
import { capReport } from './send/outcome.js';
import type { AttemptFields } from './delivery-log-types.js';
import { releaseHeldSql } from './claim-types.js';
import { knexOf, toDate, toInt, withTransaction, type Queryable } from '../store/row-mapping.js';
import { STATE_CODE } from '../webhooks/types.js';

export const STATE_ACTIVE = STATE_CODE.Active;
export const STATE_TOO_MANY_ERRORS = STATE_CODE.TooManyErrors;

export type DeliveryTransition =
  | { status: 'pending'; nextAttemptAt: number }
  | { status: 'succeeded' | 'failed_permanent' | 'expired'; note?: string };

export interface AttemptRecord extends AttemptFields {
  deliveryId: number;
  leaseToken: string;
  webhookId: number;
  /** Status line + headers + body, or the error (capped at 4000). */
  report: string;
  /** How the attempt counts in webhook_usage: a call that succeeded, a call that failed, or not a call at all. */
  usage: 'success' | 'error' | 'none';
  transition: DeliveryTransition;
  /** 410 Gone: TooManyErrors at once. */
  disableHook: boolean;
  maxConsecutiveErrors: number;
  /** Epoch ms when recorded. */
  now: number;
}

export interface RecordResult {
  /** false: the lease token no longer matched; nothing was written. */
  recorded: boolean;
  consecutiveErrors: number;
  /** This attempt turned the webhook from Active to TooManyErrors. */
  becameTooManyErrors: boolean;
}

/** Runs inside the recording transaction when an attempt turned the webhook TooManyErrors (enqueues `webhook{id}.errors`). */
export type TooManyErrorsHook = (trx: Knex.Transaction, webhookId: number) => Promise<void>;

/**
 * The insert of a webhook's missing webhook_usage row (hooks written by NetServer itself, or before a crash between
 * the two inserts, may lack it), with the dialect's locking of the existence check and its conflict clause (the
 * backends say which). Bindings: registered, webhook id.
 */
export const ensureUsageRowSql = (lockHint: string, onConflict: string): string =>
  `insert into webhook_usage (webhook_usage_id, total_calls, total_errors, consecutive_errors, registered)
     select w.webhook_id, 0, 0, 0, ? from webhook w
     where w.webhook_id = ? and not exists (select 1 from webhook_usage u${lockHint} where u.webhook_usage_id = w.webhook_id)${onConflict}`;

/** How a backend's knex recording differs: its ensureUsageRowSql. */
export interface KnexRecordingSql {
  ensureUsageRow: string;
}

async function updateUsage(trx: Knex.Transaction, r: AttemptRecord, dialectSql: KnexRecordingSql): Promise<number> {
  if (r.usage === 'none') return 0;
  const changes: Record<string, unknown> =
    r.usage === 'success'
      ? { total_calls: trx.raw('total_calls + 1'), consecutive_errors: 0 }
      : {
          total_calls: trx.raw('total_calls + 1'),
          total_errors: trx.raw('total_errors + 1'),
          consecutive_errors: trx.raw('consecutive_errors + 1'),
          last_error: capReport(r.report),
        };
  let n = await trx('webhook_usage').where('webhook_usage_id', r.webhookId).update(changes);
  if (n === 0) {
    await trx.raw(dialectSql.ensureUsageRow, [new Date(r.now), r.webhookId]);
    n = await trx('webhook_usage').where('webhook_usage_id', r.webhookId).update(changes);
    if (n === 0) return 0; // the webhook itself is gone
  }
  const row = (await trx('webhook_usage').where('webhook_usage_id', r.webhookId).first('consecutive_errors')) as
    | { consecutive_errors: unknown }
    | undefined;
  return toInt(row?.consecutive_errors);
}

/**
 * Records attempts in order, as one after another, in one transaction (the caller's when given one): one commit
 * instead of one each for a delivery run's recordings that queued up while the one before committed (worker/runs.ts).
 */
export function recordWithKnex(
  db: Queryable,
  records: readonly AttemptRecord[],
  dialectSql: KnexRecordingSql,
  onTooManyErrors?: TooManyErrorsHook,
): Promise<RecordResult[]> {
  return withTransaction(db, async (trx) => {
    const out: RecordResult[] = [];
    for (const r of records) out.push(await recordIn(trx, r, dialectSql, onTooManyErrors));
    return out;
  });
}

async function recordIn(
  trx: Knex.Transaction,
  r: AttemptRecord,
  dialectSql: KnexRecordingSql,
  onTooManyErrors?: TooManyErrorsHook,
): Promise<RecordResult> {
  const t = r.transition;
  const lastError = r.usage === 'success' ? null : capReport(t.status !== 'pending' && t.note ? `${t.note}\n${r.report}` : r.report);
  const delivery: Record<string, unknown> = {
    held: 0,
    lease_until: null,
    lease_token: null,
    last_status: r.httpStatus,
    last_error: lastError,
  };
  if (t.status === 'pending') Object.assign(delivery, { next_attempt_at: t.nextAttemptAt });
  else Object.assign(delivery, { status: t.status, finished_at: r.now });
  const updated = await trx('wa_delivery')
    .where({ delivery_id: r.deliveryId, lease_token: r.leaseToken, status: 'pending' })
    .update(delivery);
  if (updated === 0) return { recorded: false, consecutiveErrors: 0, becameTooManyErrors: false };
  await trx.raw(releaseHeldSql, [r.now, r.webhookId]);

  await trx('wa_attempt').insert({
    delivery_id: r.deliveryId,
    attempt_no: r.attemptNo,
    started_at: r.startedAt,
    duration_ms: Math.max(0, Math.round(r.durationMs)),
    http_status: r.httpStatus,
    outcome: r.outcome,
    error_class: r.errorClass,
    response_excerpt: r.report ? capReport(r.report) : null,
  });

  const consecutiveErrors = await updateUsage(trx, r, dialectSql);
  let becameTooManyErrors = false;
  if (r.usage === 'error' && (r.disableHook || consecutiveErrors >= r.maxConsecutiveErrors)) {
    const changed = await trx('webhook')
      .where({ webhook_id: r.webhookId, state: STATE_ACTIVE })
      .update({ state: STATE_TOO_MANY_ERRORS });
    becameTooManyErrors = changed > 0;
    if (becameTooManyErrors && onTooManyErrors) await onTooManyErrors(trx, r.webhookId);
  }
  return { recorded: true, consecutiveErrors, becameTooManyErrors };
}

/** Who hears about a failing webhook, and what to tell them. */
export interface ErrorNotice {
  webhookId: number;
  name: string;
  targetUrl: string;
  /** Recipients of the Disabling (TooManyErrors) e-mail. */
  recipients: string[];
  /** Recipients of the FirstFailure e-mail. */
  firstFailureRecipients: string[];
  lastError: string | null;
  consecutiveErrors: number;
}

/** WebhookNotifyVia and WebhookNotifyWhen bit values (netserver-contract.md section 5). */
export const NOTIFY_VIA_EMAIL = 1;
export const NOTIFY_VIA_IN_APP = 2;
export const NOTIFY_WHEN_FIRST_FAILURE = 1;
export const NOTIFY_WHEN_DISABLING = 2;

export type NoticeMoment = 'first_failure' | 'disabling';

export interface NotifySettings {
  errorsEmail: string | null;
  /** webhook.notify_via, 0 when never set. */
  notifyVia: number;
  /** webhook.notify_when, 0 when never set. */
  notifyWhen: number;
  /** webhook_notify.email_recipient of the rows without an associate. */
  notifyEmails: readonly string[];
}

/**
 * Who gets the e-mail of a moment (the rules are spelled out in outbox/error-mailer.ts). Addresses are trimmed
 * and deduplicated case-insensitively, in order: ErrorsEmail first, then the webhook_notify rows.
 */
export function noticeRecipients(s: NotifySettings, moment: NoticeMoment): string[] {
  const out: string[] = [];
  const add = (v: string | null) => {
    const a = v?.trim() ?? '';
    if (a && !out.some((x) => x.toLowerCase() === a.toLowerCase())) out.push(a);
  };
  const email = s.notifyVia === 0 || (s.notifyVia & NOTIFY_VIA_EMAIL) !== 0;
  if (moment === 'disabling') {
    add(s.errorsEmail);
    if (email && (s.notifyWhen === 0 || (s.notifyWhen & NOTIFY_WHEN_DISABLING) !== 0)) s.notifyEmails.forEach(add);
  } else if (email && (s.notifyWhen & NOTIFY_WHEN_FIRST_FAILURE) !== 0) {
    add(s.errorsEmail);
    s.notifyEmails.forEach(add);
  }
  return out;
}

/**
 * The webhook's notice facts and recipients for both moments, read after the recording transaction committed.
 * Associate recipients (associate_id) are skipped: our associate table has no e-mail address.
 */
export async function errorNotice(db: Queryable, webhookId: number): Promise<ErrorNotice | null> {
  const k = knexOf(db);
  const hook = (await k('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .where('w.webhook_id', webhookId)
    .first('w.name', 'w.target_url', 'w.errors_email', 'w.notify_via', 'w.notify_when', 'u.last_error', 'u.consecutive_errors')) as
    | Record<string, unknown>
    | undefined;
  if (!hook) return null;
  const rows = (await k('webhook_notify').where('webhook_id', webhookId).orderBy('webhook_notify_id')
    .select('email_recipient', 'associate_id')) as Array<{ email_recipient: unknown; associate_id: unknown }>;
  const settings: NotifySettings = {
    errorsEmail: typeof hook.errors_email === 'string' ? hook.errors_email : null,
    notifyVia: toInt(hook.notify_via),
    notifyWhen: toInt(hook.notify_when),
    notifyEmails: rows.filter((r) => !toInt(r.associate_id) && typeof r.email_recipient === 'string').map((r) => r.email_recipient as string),
  };
  return {
    webhookId,
    name: String(hook.name ?? ''),
    targetUrl: String(hook.target_url ?? ''),
    recipients: noticeRecipients(settings, 'disabling'),
    firstFailureRecipients: noticeRecipients(settings, 'first_failure'),
    lastError: typeof hook.last_error === 'string' ? hook.last_error : null,
    consecutiveErrors: toInt(hook.consecutive_errors),
  };
}

/** What a `webhook{id}.<verb>` state event carries (reference/state-events.md FieldValues). */
export interface WebhookStateFacts {
  webhookId: number;
  name: string;
  state: number;
  totalCalls: number;
  registered: Date | null;
  registeredAssociateId: number;
  updated: Date | null;
  updatedAssociateId: number;
}

export async function webhookStateFacts(db: Queryable, webhookId: number): Promise<WebhookStateFacts | null> {
  const row = (await knexOf(db)('webhook as w')
    .leftJoin('webhook_usage as u', 'u.webhook_usage_id', 'w.webhook_id')
    .where('w.webhook_id', webhookId)
    .first('w.name', 'w.state', 'w.registered', 'w.registered_associate_id', 'w.updated', 'w.updated_associate_id', 'u.total_calls')) as
    | Record<string, unknown>
    | undefined;
  if (!row) return null;
  return {
    webhookId,
    name: String(row.name ?? ''),
    state: toInt(row.state),
    totalCalls: toInt(row.total_calls),
    registered: toDate(row.registered),
    registeredAssociateId: toInt(row.registered_associate_id),
    updated: toDate(row.updated),
    updatedAssociateId: toInt(row.updated_associate_id),
  };
}
