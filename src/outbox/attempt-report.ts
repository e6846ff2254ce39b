/**
 * What the worker tells the rest of the process about each recorded attempt: one report, handed to the log line
 * below and to any observer (metrics). Built from what the worker already holds; no extra query.
 *
 * Logging: a plain success at debug; anything else (a failed attempt, a retry scheduled, a delivery given up) at
 * warn with what an operator needs to act: webhook id and name, event, EventId, attempt, status or error, duration
 * and the next retry time. A webhook that this attempt turned TooManyErrors gets its own warn line. No secret,
 * header value of ours or request body is in either; the error is the first line of the attempt's report (the
 * target's status line or the transport error), capped.
 */
import type { Logger } from '../logger.js';

export interface AttemptReport {
  deliveryId: number;
  webhookId: number;
  webhookName: string;
  eventName: string;
  /** The EventId (X-SuperOffice-EventId) of every attempt of this delivery. */
  eventId: string;
  attemptNo: number;
  /** success | failure | retry_after | gone | refused_target | unsupported | secret_unreadable */
  outcome: string;
  httpStatus: number | null;
  errorClass: string | null;
  /** First line of the report (status line or error), at most 300 characters; null on success. */
  error: string | null;
  durationMs: number;
  /** What became of the delivery: pending (retry scheduled), succeeded, failed_permanent, expired. */
  next: string;
  /** Epoch ms of the next attempt when one is scheduled. */
  nextAttemptAt: number | null;
  /** Epoch ms the delivery was enqueued (in SignalEvent's transaction). */
  queuedAt: number;
  /** Epoch ms the attempt ended (the receiver's answer, or the error). */
  answeredAt: number;
  consecutiveErrors: number;
  /** This attempt turned the webhook from Active to TooManyErrors. */
  becameTooManyErrors: boolean;
}

export type AttemptObserver = (report: AttemptReport) => void;

export function firstLine(text: string | null | undefined, max = 300): string | null {
  if (!text) return null;
  const line = text.split(/\r?\n/, 1)[0].trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

export function logAttempt(logger: Pick<Logger, 'debug' | 'warn'>, r: AttemptReport): void {
  const fields = {
    webhookId: r.webhookId, webhookName: r.webhookName, event: r.eventName, eventId: r.eventId, deliveryId: r.deliveryId,
    attempt: r.attemptNo, outcome: r.outcome, durationMs: Math.round(r.durationMs),
  };
  if (r.outcome === 'success') {
    logger.debug({ ...fields, status: r.httpStatus }, 'delivered');
  } else {
    const next = r.nextAttemptAt !== null ? new Date(r.nextAttemptAt).toISOString() : null;
    const what = r.next === 'pending' ? 'delivery attempt failed, retry scheduled' : `delivery attempt failed, delivery ${r.next}`;
    logger.warn({ ...fields, status: r.httpStatus, errorClass: r.errorClass, error: r.error, next: r.next, nextRetryAt: next }, what);
  }
  if (r.becameTooManyErrors) {
    logger.warn({
      webhookId: r.webhookId, webhookName: r.webhookName, from: 'Active', to: 'TooManyErrors', consecutiveErrors: r.consecutiveErrors,
      reason: r.outcome === 'gone' ? 'the target answered 410 Gone' : `${r.consecutiveErrors} failed attempts in a row`,
    }, 'webhook state changed: TooManyErrors (deliveries parked until it is made Active again)');
  }
}
