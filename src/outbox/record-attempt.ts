/** Recording attempts through the database's backend (outbox-record.ts describes what a recording writes). */
import type { Queryable } from '../store/row-mapping.js';
import type { AttemptRecord, RecordResult, TooManyErrorsHook } from './outbox-record.js';
import { outboxBackend } from './outbox-backend.js';

export function recordAttempt(db: Queryable, r: AttemptRecord, onTooManyErrors?: TooManyErrorsHook): Promise<RecordResult> {
  return outboxBackend(db).record(db, [r], onTooManyErrors).then((results) => results[0]);
}

/**
 * Several attempts, in order, as recordAttempt would record them one after another, in one transaction where the
 * dialect commits per transaction (a delivery run's recordings that queued up while the one before committed,
 * worker/runs.ts); on SQLite the fast path already commits the attempts of one event-loop turn together.
 */
export function recordAttempts(db: Queryable, records: readonly AttemptRecord[], onTooManyErrors?: TooManyErrorsHook): Promise<RecordResult[]> {
  return outboxBackend(db).record(db, records, onTooManyErrors);
}
