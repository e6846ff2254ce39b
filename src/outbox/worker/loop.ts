/**
 * The claim loop: claim up to min(free slots, claimBatchSize) webhooks' heads, each extended into a run of that
 * webhook's due deliveries (claim-deliveries.ts; a short transaction, with a lease and a fencing token), start each
 * admitted run at once (runs.ts), and claim again as soon as slots free up, wake() is called (SignalEvent
 * committed, a hook was made Active, a notification came), or pollIntervalMs passes. Measured under sustained
 * SignalEvent load (docs "Sustained load"): one claim round per delivery of a busy webhook, each waiting its turn on
 * the event loop, could not keep pace; a run pays it once.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../../store/db.js';
import type { SecretCodec } from '../../store/secret-codec.js';
import { claimAndLoad } from '../claim-deliveries.js';
import type { ClaimedDelivery } from '../claimed-delivery.js';
import { deferLeases } from '../outbox-maintenance.js';
import type { Admission } from './admission.js';
import type { DbRetry } from './db-retry.js';
import type { Runs, Task } from './runs.js';
import type { Clock, WorkerConfig, WorkerCounters, WorkerLogger } from './types.js';

/** How often a claim round also holds blocked deliveries, and how many per round (claim-deliveries.ts). */
const HOLD_INTERVAL_MS = 200;
const HOLD_BATCH = 500;
/** Only deliveries blocked for longer than this are held (claim-deliveries.ts). */
const HOLD_AFTER_MS = 250;

/** What wakes the loop: poke() makes the next (or the current) wait return at once. */
export interface Signal {
  poke(): void;
  wait(ms: number): Promise<void>;
}

export function createSignal(): Signal {
  let signalled = false;
  let waiter: (() => void) | null = null;
  return {
    poke() {
      signalled = true;
      const w = waiter;
      waiter = null;
      w?.();
    },
    wait(ms) {
      if (signalled) {
        signalled = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = null;
          resolve();
        }, ms);
        waiter = () => {
          clearTimeout(timer);
          signalled = false;
          resolve();
        };
      });
    },
  };
}

export interface ClaimLoop {
  /** Claims until running() turns false. */
  loop(): Promise<void>;
  /** One claim round of up to limit webhooks; the runs it started. */
  claimAndStart(limit: number): Promise<Task[]>;
}

export function createClaimLoop(deps: {
  db: Database; config: WorkerConfig; logger: WorkerLogger; now: Clock; secrets: SecretCodec;
  /** Brings `now` up to date before a claim (outbox-clock.ts). */
  sync: () => Promise<void>;
  admission: Admission; runs: Runs; retry: DbRetry; stats: WorkerCounters; signal: Signal;
  runLength: number;
  running: () => boolean;
}): ClaimLoop {
  const { db, config, logger, now, admission, runs, stats, signal } = deps;
  let lastHoldAt = -Infinity;
  let holdPending = false;
  let lastClaimed = 0;
  const freeSlots = () => admission.freeSlots(runs.count());

  async function claimAndStart(limit: number): Promise<Task[]> {
    const token = randomUUID();
    await deps.sync();
    const at = now();
    // Hold blocked deliveries now and then (claim-deliveries.ts), at once again while a backlog is being held.
    const wall = performance.now();
    const hold = holdPending || wall - lastHoldAt >= HOLD_INTERVAL_MS
      ? { now: at, holdUntil: at + config.leaseMs, limit: HOLD_BATCH, dueBefore: at - HOLD_AFTER_MS }
      : undefined;
    if (hold) lastHoldAt = wall;
    // Never a webhook with a run in flight here, whatever the lease times say: with the order rule these are
    // skipped anyway while clocks agree, and this keeps a clock step from sending a delivery in flight again.
    const skipWebhookIds = [...runs.inFlightWebhooks(), ...admission.blockedWebhooks()];
    const { deliveries, held } = await claimAndLoad(db, { now: at, leaseMs: config.leaseMs, limit, token, skipWebhookIds, runLength: deps.runLength },
      hold, { secrets: deps.secrets });
    holdPending = held >= HOLD_BATCH;
    stats.claimRounds++;
    stats.claimed += deliveries.length;
    // One run per webhook (a claim takes at most one head per webhook), oldest delivery first.
    const byWebhook = new Map<number, ClaimedDelivery[]>();
    for (const c of deliveries) {
      const run = byWebhook.get(c.webhookId);
      if (run) run.push(c);
      else byWebhook.set(c.webhookId, [c]);
    }
    lastClaimed = byWebhook.size;
    const started: Task[] = [];
    const deferred: Array<{ deliveryId: number; leaseToken: string; until: number }> = [];
    for (const run of byWebhook.values()) {
      const admitted = admission.admitRun(run[0]);
      if (!admitted.ok) {
        for (const d of run) deferred.push({ deliveryId: d.deliveryId, leaseToken: d.leaseToken, until: admitted.retryAt });
        continue;
      }
      started.push(runs.start(run, admitted.host, at + config.leaseMs));
    }
    if (deferred.length > 0) {
      stats.deferred += deferred.length;
      await deps.retry('deferring deliveries of a blocked target', () => deferLeases(db, deferred));
    }
    return started;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (deps.running()) {
      const free = freeSlots();
      let limit = 0;
      let started = 0;
      if (free > 0) {
        limit = Math.min(free, config.claimBatchSize);
        try {
          await claimAndStart(limit);
          started = lastClaimed;
          failures = 0;
        } catch (err) {
          failures++;
          const delay = Math.min(30_000, config.pollIntervalMs * 2 ** Math.min(failures, 6));
          logger.error({ err, retryInMs: delay }, 'claiming deliveries failed');
          await signal.wait(delay);
          continue;
        }
      }
      // A full batch means more may be due: claim again at once while there is room.
      if (deps.running() && started === limit && limit > 0 && freeSlots() > 0) continue;
      if (deps.running()) await signal.wait(config.pollIntervalMs);
    }
  }

  return { loop, claimAndStart };
}
