/** Retention, every housekeepingIntervalMs: expiry of old pending deliveries and pruning of old attempts, finished deliveries and events, in small batches. */
import type { Database } from '../../store/db.js';
import { expireStaleDeliveries, pruneOutbox, type PruneResult } from '../outbox-maintenance.js';
import type { Clock, WorkerConfig, WorkerLogger } from './types.js';

export type Housekeeping = () => Promise<{ expired: number } & PruneResult>;

export function outboxHousekeeping(deps: { db: Database; config: Pick<WorkerConfig, 'retentionMs'>; logger: WorkerLogger; now: Clock }): Housekeeping {
  const { db, config, logger, now } = deps;
  return async () => {
    const at = now();
    const expired = await expireStaleDeliveries(db, { now: at, retentionMs: config.retentionMs });
    const pruned = await pruneOutbox(db, { now: at, retentionMs: config.retentionMs });
    if (expired || pruned.attempts || pruned.deliveries || pruned.events) logger.info({ expired, ...pruned }, 'outbox housekeeping');
    return { expired, ...pruned };
  };
}
