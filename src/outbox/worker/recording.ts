/**
 * From an attempt's outcome to its recorded row, and what follows a recording. Outcomes (send/outcome.ts) map to:
 *   success         delivery succeeded; webhook_usage total_calls + 1, consecutive_errors = 0
 *   gone (410)      delivery failed_permanent; an error; the webhook becomes TooManyErrors at once
 *   retry_after     an error; next attempt after max(schedule, Retry-After)
 *   failure         an error; next attempt per send/retry-policy.ts (now, +1 s, +4 s, then backoff), or
 *   refused_target  expired (recorded) once the retry window is over
 *   (type not 'webhook', e.g. crmscript: failed_permanent, not counted as a call: this agent runs no CRMScript)
 *   secret_unreadable  not sent, not a call, not the hook's error; retried on the usual schedule, so deliveries
 *                   resume once the operator configures the key (store/secret-codec.ts)
 * An error is one failed attempt in consecutive_errors; at maxConsecutiveErrors the webhook becomes
 * TooManyErrors and `webhook{id}.errors` is enqueued in the same transaction (outbox-record.ts), then the e-mails
 * go out (notices.ts). Each recording is fenced by the lease token: one that finds its lease gone records nothing.
 */
import type { Database } from '../../store/db.js';
import { firstLine, logAttempt, type AttemptObserver, type AttemptReport } from '../attempt-report.js';
import type { ClaimedDelivery } from '../claimed-delivery.js';
import type { AttemptRecord, DeliveryTransition, RecordResult } from '../outbox-record.js';
import { recordAttempts } from '../record-attempt.js';
import type { DeliveryOutcome } from '../send/outcome.js';
import { nextAttempt } from '../send/retry-policy.js';
import { fireStateEvent } from '../state-event.js';
import type { DbRetry } from './db-retry.js';
import type { FailureNotices } from './notices.js';
import type { Clock, WorkerConfig, WorkerCounters, WorkerLogger } from './types.js';

/** What an attempt came to: the sender's outcome, null (a type this agent does not send), or an unreadable secret. */
export type AttemptOutcome = DeliveryOutcome | null | 'secret_unreadable';

/** The row an attempt of c records, and the delivery's next state. */
export function attemptRecord(
  c: ClaimedDelivery, outcome: AttemptOutcome, startedAt: number, at: number,
  policy: { config: WorkerConfig; random: () => number },
): AttemptRecord {
  const { config, random } = policy;
  const base = { deliveryId: c.deliveryId, leaseToken: c.leaseToken, webhookId: c.webhookId, attemptNo: c.attemptNo, startedAt,
    maxConsecutiveErrors: config.maxConsecutiveErrors, now: at };
  if (outcome === null) {
    return { ...base, durationMs: 0, httpStatus: null, outcome: 'unsupported', errorClass: 'other',
      report: `Webhook type '${c.hook.type}' is not delivered by this agent (only 'webhook')`, usage: 'none',
      transition: { status: 'failed_permanent' }, disableHook: false };
  }
  if (outcome === 'secret_unreadable') {
    const decision = nextAttempt({ attemptNo: c.attemptNo, nowMs: at, createdMs: c.created, config, random, retryAfterMs: null });
    return { ...base, durationMs: 0, httpStatus: null, outcome, errorClass: 'other', usage: 'none', disableHook: false,
      report: `Not sent: ${c.secretError ?? 'the webhook secret cannot be decrypted'}`,
      transition: decision.retry ? { status: 'pending', nextAttemptAt: decision.nextAttemptAt } : { status: 'expired', note: decision.reason } };
  }
  const httpStatus = 'status' in outcome && outcome.status !== undefined ? outcome.status : null;
  const common = { ...base, durationMs: outcome.durationMs, httpStatus, outcome: outcome.kind, report: outcome.report };
  if (outcome.kind === 'success') {
    return { ...common, errorClass: null, usage: 'success', transition: { status: 'succeeded' }, disableHook: false };
  }
  if (outcome.kind === 'gone') {
    return { ...common, errorClass: outcome.errorClass, usage: 'error', disableHook: true,
      transition: { status: 'failed_permanent', note: 'failed permanently: the target answered 410 Gone' } };
  }
  const decision = nextAttempt({
    attemptNo: c.attemptNo, nowMs: at, createdMs: c.created, config, random,
    retryAfterMs: outcome.kind === 'retry_after' ? outcome.retryAfterMs : null,
  });
  const transition: DeliveryTransition = decision.retry
    ? { status: 'pending', nextAttemptAt: decision.nextAttemptAt }
    : { status: 'expired', note: decision.reason };
  return { ...common, errorClass: outcome.errorClass, usage: 'error', transition, disableHook: false };
}

export interface QueuedRecord {
  c: ClaimedDelivery;
  record: AttemptRecord;
}

/** Records a batch of one run's attempts in order; false when one found its lease gone or the write failed. */
export type RecordBatch = (batch: readonly QueuedRecord[]) => Promise<boolean>;

export function attemptRecorder(deps: {
  db: Database; logger: WorkerLogger; now: Clock; stats: WorkerCounters; retry: DbRetry; notices: FailureNotices;
  onAttempt?: AttemptObserver;
}): RecordBatch {
  const { db, logger, now, stats, retry, notices } = deps;

  /** The log line(s) of an attempt and the observer (metrics): attempt-report.ts. */
  function report(c: ClaimedDelivery, record: AttemptRecord, result: { consecutiveErrors: number; becameTooManyErrors: boolean }): void {
    const t = record.transition;
    const r: AttemptReport = {
      deliveryId: c.deliveryId, webhookId: c.webhookId, webhookName: c.hook.name, eventName: c.eventName, eventId: c.eventUuid,
      attemptNo: c.attemptNo, outcome: record.outcome, httpStatus: record.httpStatus, errorClass: record.errorClass,
      error: record.outcome === 'success' ? null : firstLine(record.report), durationMs: record.durationMs, next: t.status,
      nextAttemptAt: t.status === 'pending' ? t.nextAttemptAt : null, queuedAt: c.created, answeredAt: record.startedAt + record.durationMs, ...result,
    };
    logAttempt(logger, r);
    deps.onAttempt?.(r);
  }

  /** After an attempt was recorded (or found its lease gone): stats, log line, observer, e-mails. false: lease gone. */
  async function recorded(c: ClaimedDelivery, record: AttemptRecord, result: RecordResult): Promise<boolean> {
    if (!result.recorded) {
      stats.stale++;
      logger.warn({ deliveryId: c.deliveryId, webhookId: c.webhookId }, 'lease lost before the outcome was recorded; not recorded');
      return false;
    }
    if (record.usage === 'success') stats.succeeded++;
    else stats.failed++;
    report(c, record, result);
    // consecutive_errors was incremented in the committed transaction: only one attempt sees it reach 1.
    const firstFailure = record.usage === 'error' && result.consecutiveErrors === 1;
    if (result.becameTooManyErrors || firstFailure) await notices(c, record, result.becameTooManyErrors, firstFailure);
    return true;
  }

  return async (batch) => {
    let kept = true;
    try {
      const results = await retry('recording an attempt', () => recordAttempts(db, batch.map((b) => b.record), async (trx, webhookId) => {
        await fireStateEvent(trx, webhookId, 'errors', { now: now() });
      }));
      for (const [i, b] of batch.entries()) if (!(await recorded(b.c, b.record, results[i]))) kept = false;
    } catch (err) {
      kept = false;
      logger.error({ err, deliveryIds: batch.map((b) => b.c.deliveryId) }, 'delivery attempt could not be recorded; it is retried when its lease runs out');
    }
    return kept;
  };
}
