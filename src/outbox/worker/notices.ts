/**
 * The FirstFailure and Disabling e-mails of an attempt, after its transaction committed (error-mailer.ts has the
 * rules: the attempt that takes consecutive_errors from 0 to 1 sends FirstFailure when the hook asks for it, the one
 * that turns the hook TooManyErrors sends Disabling). Best effort: a failure is logged, nothing is retried.
 */
import type { Database } from '../../store/db.js';
import type { ClaimedDelivery } from '../claimed-delivery.js';
import { firstFailureError, type ErrorMailer } from '../error-mailer.js';
import { errorNotice, type AttemptRecord } from '../outbox-record.js';
import type { WorkerConfig, WorkerLogger } from './types.js';

export type FailureNotices = (c: ClaimedDelivery, record: AttemptRecord, becameTooManyErrors: boolean, firstFailure: boolean) => Promise<void>;

export function failureNotices(deps: {
  db: Database; config: Pick<WorkerConfig, 'maxConsecutiveErrors'>; logger: WorkerLogger; mailer: ErrorMailer | null;
}): FailureNotices {
  const { db, config, logger, mailer } = deps;
  return async function notifyFailure(c, record, becameTooManyErrors, firstFailure) {
    if (!mailer) return;
    try {
      const notice = await errorNotice(db, c.webhookId);
      if (!notice) return;
      const disabling = becameTooManyErrors ? notice.recipients : [];
      if (disabling.length > 0) {
        const reason = record.outcome === 'gone'
          ? 'the target answered 410 Gone'
          : `${notice.consecutiveErrors} delivery attempts in a row failed`;
        await mailer.sendErrorNotice(notice, reason);
        logger.info({ webhookId: c.webhookId, recipients: disabling.length }, 'error e-mail sent (TooManyErrors)');
      }
      const taken = new Set(disabling.map((a) => a.toLowerCase()));
      const first = firstFailure ? notice.firstFailureRecipients.filter((a) => !taken.has(a.toLowerCase())) : [];
      if (first.length > 0) {
        await mailer.sendFirstFailureNotice({
          webhookId: c.webhookId, name: notice.name, eventName: c.eventName, eventId: c.eventUuid, attemptNo: c.attemptNo,
          error: firstFailureError(record.httpStatus, record.errorClass, record.report),
          maxConsecutiveErrors: config.maxConsecutiveErrors, recipients: first,
        });
        logger.info({ webhookId: c.webhookId, recipients: first.length }, 'error e-mail sent (first failure)');
      }
    } catch (err) {
      logger.error({ err, webhookId: c.webhookId }, 'error e-mail could not be sent');
    }
  };
}
