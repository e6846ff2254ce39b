/**
 * The one write of the CRM source: the events of a CRM transaction (or Change Tracking batch), each to its Active
 * subscribers, and the source's cursor moved to the batch's position, all in one transaction of the service's
 * database. Either the deliveries and the cursor are both stored or neither is, so a reader that dies anywhere
 * resumes after exactly what was enqueued: nothing lost, nothing twice. The rows are the outbox's own
 * (enqueueEventBatch), so bodies, headers and signatures are those of every delivery.
 */
import type { SignalledEvent } from '../webhooks/types.js';
import type { Database } from '../store/db.js';
import { moveCrmCursor, writeCrmCursor } from '../store/crm-cursor.js';
import { enqueueEventBatch, type BatchResult } from '../outbox/index.js';

export function enqueueCrmBatch(
  db: Pick<Database, 'knex'>,
  sourceName: string,
  events: readonly SignalledEvent[],
  position: string,
  opts: { now?: number; expected?: string | null } = {},
): Promise<BatchResult> {
  const now = opts.now ?? Date.now();
  return db.knex.transaction(async (trx) => {
    const result = await enqueueEventBatch(trx, events, now);
    if (opts.expected === undefined) await writeCrmCursor(trx, sourceName, position, now);
    else if (!(await moveCrmCursor(trx, sourceName, opts.expected, position, now))) throw new CursorMovedError(sourceName);
    return result;
  });
}

/** Another reader enqueued from the same position first: this batch was rolled back (nothing written). */
export class CursorMovedError extends Error {
  readonly code = 'CRM_CURSOR_MOVED';
  constructor(sourceName: string) {
    super(`another reader of ${sourceName} moved its cursor first; this batch was not enqueued`);
  }
}
