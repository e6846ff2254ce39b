/**
 * SQLite's one worker process (outbox-worker-lock.ts): taken at start, kept by a heartbeat, given up at stop. Lock
 * times are wall-clock, not the worker's injectable clock: other processes compare the heartbeat with theirs.
 */
import type { Database } from '../../store/db.js';
import { acquireWorkerLock, heartbeatWorkerLock, releaseWorkerLock } from '../outbox-worker-lock.js';
import type { WorkerLogger } from './types.js';

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the lock (or throws AppError 'conflict'); onLost is called when another process took it over. */
export async function holdWorkerLock(deps: {
  db: Database; logger: WorkerLogger; owner: string; staleMs: number; heartbeatMs: number; onLost: () => void;
}): Promise<HeldLock> {
  const { db, logger, owner } = deps;
  await acquireWorkerLock(db, { owner, now: Date.now(), staleMs: deps.staleMs });
  const hb = setInterval(() => {
    heartbeatWorkerLock(db, owner, Date.now()).then((ours) => {
      if (!ours) deps.onLost();
    }, (err) => logger.warn({ err }, 'worker lock heartbeat failed'));
  }, deps.heartbeatMs);
  hb.unref();
  return {
    async release() {
      clearInterval(hb);
      await releaseWorkerLock(db, owner).catch((err) => logger.warn({ err }, 'could not release the SQLite worker lock'));
    },
  };
}
