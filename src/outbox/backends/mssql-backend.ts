/**
 * The outbox on SQL Server: claims with UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK (claim-mssql.ts), SignalEvent's
 * write as the subscriber select and the event's rows in one knex transaction, and the knex recording with the
 * usage row's existence check under UPDLOCK, HOLDLOCK (SQL Server has no ON CONFLICT). No LISTEN/NOTIFY (Service
 * Broker would need its own queue, service and activation): workers poll. Any number of worker processes claim at once.
 */
import { activeSubscriberIds } from '../../store/webhook-repository.js';
import { toInt } from '../../store/row-mapping.js';
import { claimMssql, extendRunsMssql, holdMssql } from '../claim-mssql.js';
import { insertEventRows } from '../event-rows.js';
import { ensureUsageRowSql, recordWithKnex } from '../outbox-record.js';
import { claimInSteps } from './claim-in-steps.js';
import type { OutboxBackend } from './backend-types.js';

const recording = { ensureUsageRow: ensureUsageRowSql(' with (updlock, holdlock)', '') };

/** The server's UTC clock in epoch ms (datediff_big: milliseconds since 1970 overflow int). */
export const mssqlClockSql = "select datediff_big(millisecond, '19700101', sysutcdatetime()) as now_ms";

export const mssqlBackend: OutboxBackend = {
  dialect: 'mssql',
  singleWorker: false,
  enqueueSignalled: (k, event, now) => k.transaction(async (trx) => {
    const ids = [...new Set(await activeSubscriberIds(trx, event.eventName))];
    return ids.length === 0 ? { eventId: null, deliveries: 0 } : insertEventRows(trx, event, ids, now);
  }),
  claim: claimMssql,
  extendRuns: extendRunsMssql,
  hold: holdMssql,
  claimAndLoad: (k, req, hold, secrets) => claimInSteps(mssqlBackend, k, req, hold, secrets),
  record: (q, records, onTooManyErrors) => recordWithKnex(q, records, recording, onTooManyErrors),
  notify: async () => {},
  listenConnection: () => null,
  async databaseTime(k) {
    const rows = (await k.raw(mssqlClockSql)) as Array<{ now_ms: unknown }>;
    if (rows[0]?.now_ms == null) throw new Error('SQL Server answered the clock query with no row');
    return toInt(rows[0].now_ms);
  },
};
