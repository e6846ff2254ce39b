/**
 * The time the worker writes lease and retry times in and compares them with (the `now` of its claims,
 * recordings, holds and deferrals), kept apart from this process's wall clock, which an operator or NTP may step:
 * stepped back 1 h, a clock-driven worker left a pending retry 1 h late; stepped 2 min forward, it saw the lease of
 * a delivery still in flight run out and sent it twice.
 *
 * - PostgreSQL and SQL Server: the database server's clock (now(), SYSUTCDATETIME(); backends' databaseTime),
 *   one for every worker on the database. It is read every RESAMPLE_MS at most, and between reads advanced by this
 *   process's monotonic clock, so a claim costs no extra round trip.
 * - SQLite (no clock of its own, one worker process): a monotonic clock within the process, started at the wall
 *   time and advanced by the monotonic clock. It never goes back, so a step back delays nothing. It does follow a
 *   step forward (it is the larger of the two), because SignalEvent stamps new deliveries with the wall clock, which
 *   must not wait for the monotonic clock to catch up. The lease of a delivery in flight is then safe anyway: a
 *   worker never claims deliveries of a webhook it has a run in flight for (loop.ts), and SQLite has one worker.
 */
import type { Database } from '../../store/db.js';
import { outboxBackend } from '../outbox-backend.js';
import type { ProcessClock, WorkerLogger } from './types.js';

export const systemClock: ProcessClock = { wall: Date.now, monotonic: () => performance.now() };

/** How old a reading of the database's clock may get before the next claim reads it again. */
const RESAMPLE_MS = 10_000;

export interface OutboxClock {
  /** Epoch ms. */
  now(): number;
  /** Reads the database's clock again when the last reading is older than RESAMPLE_MS (nothing on SQLite). */
  sync(): Promise<void>;
}

export function outboxClock(deps: { db: Database; process?: ProcessClock; logger: WorkerLogger }): OutboxClock {
  const { db, logger } = deps;
  const { wall, monotonic } = deps.process ?? systemClock;
  const databaseTime = outboxBackend(db).databaseTime;
  // The last reading: `base` at monotonic time `at`.
  let base = wall();
  let at = monotonic();
  let read = false;
  if (databaseTime === null) {
    return {
      now() {
        const m = monotonic();
        base = Math.max(base + (m - at), wall());
        at = m;
        return Math.floor(base);
      },
      sync: async () => {},
    };
  }
  let reading: Promise<void> | null = null;
  return {
    now: () => Math.floor(base + (monotonic() - at)),
    sync() {
      if (read && monotonic() - at < RESAMPLE_MS) return Promise.resolve();
      reading ??= (async () => {
        try {
          const before = monotonic();
          const t = await databaseTime(db.knex);
          // The reading is from somewhere within the round trip; taken as its start, the clock runs at most a round
          // trip ahead, never behind: a delivery just stamped due is never found not yet due.
          base = t;
          at = before;
          read = true;
        } catch (err) {
          // Keep the last reading (advanced monotonically); the claim that follows reports a database that is down.
          logger.warn({ err }, 'reading the database clock failed; the last reading is used');
        } finally {
          reading = null;
        }
      })();
      return reading;
    },
  };
}
