/**
 * SQLite is single-process for delivery: its claim relies on one writer connection, and two worker processes on
 * one file would also fight over the write lock. A worker on SQLite therefore holds a lock row
 * (wa_worker_lock 'delivery-worker': owner token, host, pid, heartbeat). Another worker refuses to start while the
 * holder is alive: its heartbeat is fresh and, on the same host, its pid still exists. A holder killed with
 * SIGKILL leaves its row behind; the next worker on the same host sees the dead pid and takes over at once (on
 * another host, after the heartbeat is staleMs old). PostgreSQL and SQL Server need no such lock: any number of
 * workers claim concurrently.
 */
import { hostname } from 'node:os';
import { AppError } from '../errors.js';
import { isUniqueViolation, knexOf, toInt, withTransaction, type Queryable } from '../store/row-mapping.js';

export const WORKER_LOCK_NAME = 'delivery-worker';

export interface WorkerLockOptions {
  owner: string;
  now: number;
  /** A heartbeat older than this means the holder is gone. */
  staleMs: number;
  host?: string;
  pid?: number;
  /** Whether a pid on this host is alive (injectable for tests). */
  isAlive?: (pid: number) => boolean;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireWorkerLock(db: Queryable, o: WorkerLockOptions): Promise<void> {
  const host = o.host ?? hostname();
  const pid = o.pid ?? process.pid;
  const isAlive = o.isAlive ?? pidAlive;
  try {
    await withTransaction(db, async (trx) => {
      const row = (await trx('wa_worker_lock').where('lock_name', WORKER_LOCK_NAME).first()) as Record<string, unknown> | undefined;
      if (row && row.owner_token !== o.owner) {
        const fresh = toInt(row.heartbeat_at) > o.now - o.staleMs;
        const holderPid = toInt(row.pid);
        const deadHere = row.host === host && !isAlive(holderPid);
        if (fresh && !deadHere) {
          throw new AppError('conflict',
            `Another delivery worker is running on this SQLite database (pid ${holderPid} on ${String(row.host)}). ` +
            'SQLite allows one worker process: stop it, run the worker inside `serve` only, or use PostgreSQL / SQL Server ' +
            'to run several workers.');
        }
      }
      await trx('wa_worker_lock').where('lock_name', WORKER_LOCK_NAME).delete();
      await trx('wa_worker_lock').insert({ lock_name: WORKER_LOCK_NAME, owner_token: o.owner, host, pid, heartbeat_at: o.now });
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new AppError('conflict', 'Another delivery worker took the SQLite worker lock at the same moment', { cause: err });
    }
    throw err;
  }
}

/** false when the lock is no longer ours (taken over after our heartbeat went stale): stop claiming. */
export async function heartbeatWorkerLock(db: Queryable, owner: string, now: number): Promise<boolean> {
  const n = await knexOf(db)('wa_worker_lock').where({ lock_name: WORKER_LOCK_NAME, owner_token: owner }).update({ heartbeat_at: now });
  return n > 0;
}

export async function releaseWorkerLock(db: Queryable, owner: string): Promise<void> {
  await knexOf(db)('wa_worker_lock').where({ lock_name: WORKER_LOCK_NAME, owner_token: owner }).delete();
}
