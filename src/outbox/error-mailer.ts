/**
 * The e-mails NetServer sends about a failing webhook. Two moments, from webhook.notify_when (bit flags):
 *
 * - FirstFailure (1): the attempt that takes webhook_usage.consecutive_errors from 0 to 1, i.e. the first failed
 *   attempt since the hook was created, since its last successful delivery, or since it was saved Active again
 *   (which resets the count). One e-mail per run of failures: the increment happens in the recording transaction,
 *   so exactly one attempt sees the count reach 1 even with several workers. It names the webhook (id, name), the
 *   event name, the EventId and the error: the status line (`HTTP/1.1 500 Internal Server Error`) or the error
 *   class with the transport error. Never the secret, the request headers or the target's response body.
 *   Recipients: ErrorsEmail and the webhook_notify e-mail rows, only when notify_when has FirstFailure.
 * - Disabling (2): the attempt that turns the hook to TooManyErrors (maxConsecutiveErrors in a row, or a 410).
 *   Recipients: ErrorsEmail always (it predates the flags and means exactly this e-mail, so a legacy hook with
 *   notify_when = 0 and only ErrorsEmail still gets it), plus the webhook_notify e-mail rows when notify_when is 0
 *   or has Disabling.
 *
 * notify_via (1 Email, 2 InApp) is stored and returned as given. 0 (never set) counts as Email. Without the Email
 * bit, the webhook_notify rows and the FirstFailure e-mail are skipped; ErrorsEmail's Disabling e-mail still goes.
 * InApp is accepted but sends nothing: this agent has no in-app channel. Associate recipients (associate_id) get
 * nothing: our associate table has no e-mail address.
 *
 * When one attempt is both moments (maxConsecutiveErrors = 1, or a 410 on the first failure), the Disabling e-mail
 * goes to its recipients and the FirstFailure e-mail only to those who are not among them: one e-mail each.
 *
 * Both are sent after the recording transaction has committed, best effort: a failure is logged and does not undo
 * or retry anything. The durable record is webhook_usage, the state change and the `webhook{id}.errors` event.
 * A crash between commit and send loses the e-mail.
 */
// Types only: nodemailer is loaded when SMTP_URL is configured, not at every start (startup time, RSS).
import type { Transporter } from 'nodemailer';
import type { Config } from '../config.js';
import type { ErrorNotice } from './outbox-record.js';

/** What the FirstFailure e-mail tells. */
export interface FirstFailureNotice {
  webhookId: number;
  name: string;
  eventName: string;
  /** The delivery's EventId (X-SuperOffice-EventId). */
  eventId: string;
  attemptNo: number;
  /** Status line, or error class and transport error; one line, no response body. */
  error: string;
  /** Failed attempts in a row that turn the webhook off. */
  maxConsecutiveErrors: number;
  recipients: string[];
}

export interface ErrorMailer {
  sendErrorNotice(notice: ErrorNotice, reason: string): Promise<void>;
  sendFirstFailureNotice(notice: FirstFailureNotice): Promise<void>;
  close(): void;
}

export function errorNoticeText(notice: ErrorNotice, reason: string): { subject: string; text: string } {
  return {
    subject: `Webhook "${notice.name}" (id ${notice.webhookId}) was turned off: TooManyErrors`,
    text: [
      `The webhook "${notice.name}" (id ${notice.webhookId}) posting to ${notice.targetUrl} was set to TooManyErrors`,
      `because ${reason}. No events are posted to it until it is saved with State Active again;`,
      'events signalled meanwhile are kept and delivered in order once it is Active.',
      '',
      'Most recent error from the target:',
      notice.lastError ?? '(none recorded)',
    ].join('\n'),
  };
}

export function firstFailureNoticeText(n: FirstFailureNotice): { subject: string; text: string } {
  return {
    subject: `Webhook "${n.name}" (id ${n.webhookId}) failed to deliver an event`,
    text: [
      `The webhook "${n.name}" (id ${n.webhookId}) could not deliver an event.`,
      '',
      `Event: ${n.eventName}`,
      `EventId: ${n.eventId}`,
      `Attempt: ${n.attemptNo}`,
      `Error: ${n.error}`,
      '',
      `The event is retried. After ${n.maxConsecutiveErrors} failed attempts in a row the webhook is set to`,
      'TooManyErrors and stops receiving events. This e-mail is sent once per run of failures: the next one',
      'only after a successful delivery.',
    ].join('\n'),
  };
}

/** The one-line error of a FirstFailure e-mail: from the attempt's status and report (status line first). */
export function firstFailureError(httpStatus: number | null, errorClass: string | null, report: string): string {
  const firstLine = (report.split(/\r?\n/, 1)[0] ?? '').trim().slice(0, 300);
  if (httpStatus !== null) return firstLine || `HTTP ${httpStatus}`;
  return `${errorClass ?? 'other'}${firstLine ? `: ${firstLine}` : ''}`;
}

/** null when smtpUrl is not configured (no e-mail is sent). */
export function createErrorMailer(config: Pick<Config, 'smtpUrl' | 'smtpFrom'>): ErrorMailer | null {
  if (!config.smtpUrl) return null;
  // The e-mail is sent while the attempt still holds its worker slot (and stop() waits for it): nodemailer's defaults
  // (2 min to connect, 10 min of socket silence) are far too patient for a best-effort notice. Query parameters
  // of SMTP_URL still override these.
  const url = config.smtpUrl;
  let transport: Promise<Transporter> | undefined;
  const transportNow = () => (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
    nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 })));
  const send = async (to: string[], m: { subject: string; text: string }) => {
    if (to.length === 0) return;
    await (await transportNow()).sendMail({ from: config.smtpFrom, to, subject: m.subject, text: m.text });
  };
  return {
    sendErrorNotice: (notice, reason) => send(notice.recipients, errorNoticeText(notice, reason)),
    sendFirstFailureNotice: (notice) => send(notice.recipients, firstFailureNoticeText(notice)),
    close() {
      void transport?.then((t) => t.close(), () => undefined);
    },
  };
}
