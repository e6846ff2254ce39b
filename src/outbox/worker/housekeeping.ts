/**
 * Maintenance, every housekeepingIntervalMs, in small batches: retention expiry of old pending deliveries, the
 * sweep that cancels pending deliveries of webhooks that no longer exist (outbox-repository.ts says how they come
 * about), pruning of old attempts, finished deliveries and events, and of SignalEvent idempotency keys older than
 * IDEMPOTENCY_KEY_TTL_MS (logged).
 */
import type { Database } from '../../store/db.js';
import { expireStaleDeliveries, pruneOutbox, type PruneResult } from '../outbox-maintenance.js';
import { cancelDeliveriesOfDeletedWebhooks } from '../outbox-repository.js';
import { pruneIdempotencyKeys } from '../enqueue-idempotent.js';
import type { Clock, FinishedObserver, WorkerConfig, WorkerLogger } from './types.js';

export type HousekeepingResult = { expired: number; cancelled: number } & PruneResult;
export type Housekeeping = () => Promise<HousekeepingResult>;

export function outboxHousekeeping(deps: {
  db: Database; config: Pick<WorkerConfig, 'retentionMs' | 'idempotencyKeyTtlMs'>; logger: WorkerLogger; now: Clock; onFinished?: FinishedObserver;
}): Housekeeping {
  const { db, config, logger, now } = deps;
  return async () => {
    const at = now();
    const expired = await expireStaleDeliveries(db, { now: at, retentionMs: config.retentionMs });
    const cancelled = await cancelDeliveriesOfDeletedWebhooks(db, { now: at });
    const pruned = await pruneOutbox(db, { now: at, retentionMs: config.retentionMs });
    const idempotencyKeys = await pruneIdempotencyKeys(db, { now: at, ttlMs: config.idempotencyKeyTtlMs });
    if (expired > 0) deps.onFinished?.('expired', expired);
    if (cancelled > 0) deps.onFinished?.('cancelled', cancelled);
    if (expired || cancelled || pruned.attempts || pruned.deliveries || pruned.events || idempotencyKeys) {
      logger.info({ expired, cancelled, ...pruned, idempotencyKeys }, 'outbox housekeeping');
    }
    return { expired, cancelled, ...pruned };
  };
}
