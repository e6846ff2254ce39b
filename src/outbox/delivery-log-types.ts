/**
 * The delivery log's shapes as the store reads them and the admin API sends them as JSON. No imports: the admin
 * page (web/admin/api.ts) imports these types too, and its bundle must not pull in server code.
 */

export const deliveryStatusNames = ['pending', 'succeeded', 'failed_permanent', 'expired', 'cancelled'] as const;
export type DeliveryStatus = (typeof deliveryStatusNames)[number];

export interface DeliveryRow {
  deliveryId: number;
  webhookId: number;
  eventId: string;
  eventName: string;
  primaryKey: number;
  status: DeliveryStatus;
  attempts: number;
  /** Epoch ms when the event was signalled. */
  signalledAt: number;
  /** Epoch ms the delivery (re)entered the queue. */
  queuedAt: number;
  /** Epoch ms of the next attempt when pending. */
  nextAttemptAt: number | null;
  /** A worker holds it right now. */
  inFlight: boolean;
  finishedAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** What an attempt records about itself (the worker's AttemptRecord adds what it needs to write it). */
export interface AttemptFields {
  attemptNo: number;
  /** Epoch ms. */
  startedAt: number;
  durationMs: number;
  httpStatus: number | null;
  /** success | gone | retry_after | failure | refused_target | unsupported */
  outcome: string;
  errorClass: string | null;
}

/** An attempt as the history reads it back: the recorded fields, with the report cut to an excerpt. */
export type AttemptRow = AttemptFields & { responseExcerpt: string | null };

export interface ChartBucket {
  /** Epoch ms of the bucket's start. */
  start: number;
  succeeded: number;
  failed: number;
}
