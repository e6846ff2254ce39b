/**
 * The e-mail NetServer sends when a webhook is turned off for errors (to ErrorsEmail and the webhook_notify
 * recipients). Sent after the state change has committed, best effort: a mail failure is logged and does not undo
 * or retry anything (the state change and the `webhook{id}.errors` event are the durable record).
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import type { ErrorNotice } from '../store/outbox-record.js';

export interface ErrorMailer {
  sendErrorNotice(notice: ErrorNotice, reason: string): Promise<void>;
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

/** null when smtpUrl is not configured (no e-mail is sent). */
export function createErrorMailer(config: Pick<Config, 'smtpUrl' | 'smtpFrom'>): ErrorMailer | null {
  if (!config.smtpUrl) return null;
  const transport = nodemailer.createTransport(config.smtpUrl);
  return {
    async sendErrorNotice(notice, reason) {
      if (notice.recipients.length === 0) return;
      const { subject, text } = errorNoticeText(notice, reason);
      await transport.sendMail({ from: config.smtpFrom, to: notice.recipients, subject, text });
    },
    close() {
      transport.close();
    },
  };
}
