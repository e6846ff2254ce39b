/**
 * The delivery worker: claim due deliveries, send them in parallel, record each attempt, reschedule. Built here
 * from its parts in worker/:
 *   loop.ts         the claim loop and what wakes it
 *   admission.ts    slots, host caps and circuits: which claimed run may send now
 *   runs.ts         a run: one webhook's deliveries sent one after another, given back when it cannot go on
 *   recording.ts    an outcome's recorded row and next state, and what follows a recording
 *   notices.ts      the FirstFailure and Disabling e-mails
 *   outbox-clock.ts the time leases and retries are written in (the database's clock, or a monotonic one)
 *   housekeeping.ts retention; single-worker-lock.ts SQLite's one worker process
 * Deliveries of a hook that is not Active stay pending and are not claimed ("parked"), then drain in order.
 *
 * Crash safety: a worker that dies mid-send leaves its claims leased; after leaseMs they are due again and are
 * sent again with the same EventId (at-least-once; receivers deduplicate by EventId). stop() is the SIGTERM
 * path: no new claims, in-flight attempts get graceMs to finish, the rest are aborted and their leases released.
 *
 * Wake-ups from other processes: on PostgreSQL the worker holds one LISTEN connection of its own (not from the
 * pool) and claims when `NOTIFY wa_outbox` arrives, i.e. when another process's SignalEvent or state event commits
 * (outbox-notify.ts). It reconnects with backoff when that connection drops, and polling covers the gap.
 * SQLite (one worker process, woken in process) and SQL Server (no LISTEN/NOTIFY) rely on wake() and polling.
 */
import { randomUUID } from 'node:crypto';
import { secretCodecFor } from '../store/secret-codec.js';
import { createErrorMailer } from './error-mailer.js';
import { listenConnectionOf, outboxBackend } from './outbox-backend.js';
import { listenForOutbox, type OutboxListener } from './outbox-notify.js';
import { createSender } from './send/sender.js';
import { createAdmission } from './worker/admission.js';
import { dbRetry } from './worker/db-retry.js';
import { outboxHousekeeping } from './worker/housekeeping.js';
import { createClaimLoop, createSignal } from './worker/loop.js';
import { outboxClock, systemClock } from './worker/outbox-clock.js';
import { failureNotices } from './worker/notices.js';
import { attemptRecorder } from './worker/recording.js';
import { createRuns, runLengthFor } from './worker/runs.js';
import { holdWorkerLock, type HeldLock } from './worker/single-worker-lock.js';
import type { Worker, WorkerCounters, WorkerOptions } from './worker/types.js';

export type { Clock, FinishedObserver, ProcessClock, Worker, WorkerConfig, WorkerLogger, WorkerOptions, WorkerStats } from './worker/types.js';

export function createWorker(opts: WorkerOptions): Worker {
  const { db, config, logger } = opts;
  // Lease and retry times from the outbox clock (the database's, or a monotonic one on SQLite), not the wall clock.
  const outbox = outboxClock({ db, process: opts.processClock, logger });
  const now = opts.clock ?? outbox.now;
  const sender = createSender({ config, lookup: opts.lookup, now: opts.clock ?? (opts.processClock ?? systemClock).wall });
  const mailer = opts.mailer !== undefined ? opts.mailer : createErrorMailer(config);
  const secrets = opts.secrets ?? secretCodecFor(config);
  const owner = randomUUID();
  const stats: WorkerCounters = { claimRounds: 0, claimed: 0, succeeded: 0, failed: 0, stale: 0, inFlight: 0, notifications: 0, wakesSkipped: 0, deferred: 0 };
  let running = false;
  /** stop() was called: runs give their unsent rest back. */
  let stopping = false;
  let lock: HeldLock | null = null;
  let listener: OutboxListener | null = null;
  let loopDone: Promise<void> = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];

  const signal = createSignal();
  const retry = dbRetry(logger);
  const admission = createAdmission({ config, logger, now, onSlotFreed: signal.poke });
  const record = attemptRecorder({ db, logger, now, stats, retry, notices: failureNotices({ db, config, logger, mailer }), onAttempt: opts.onAttempt });
  const runs = createRuns({ db, config, logger, now, random: opts.random ?? Math.random, sender, admission, record, retry, stats,
    stopping: () => stopping, onSlotsFreed: signal.poke, onFinished: opts.onFinished });
  const claims = createClaimLoop({ db, config, logger, now, sync: opts.clock ? async () => {} : outbox.sync, secrets, admission, runs, retry, stats, signal,
    runLength: runLengthFor(config), running: () => running });
  const housekeeping = outboxHousekeeping({ db, config, logger, now, onFinished: opts.onFinished });

  /** A wake-up (in-process, or a notification) with the webhooks that got deliveries: claim unless none could pass. */
  function wakeFor(webhookIds?: readonly number[]): void {
    if (runs.allInFlight(webhookIds)) stats.wakesSkipped++;
    else signal.poke();
  }

  async function runOnce(): Promise<number> {
    const free = admission.freeSlots(runs.count());
    if (free <= 0) return 0;
    const tasks = await claims.claimAndStart(Math.min(free, config.claimBatchSize));
    await Promise.all(tasks.map((t) => t.done));
    return tasks.reduce((n, t) => n + t.attempted, 0);
  }

  return {
    async start() {
      if (running) return;
      if (config.leaseMs < config.deliveryTimeoutMs + 5_000) {
        logger.warn({ leaseMs: config.leaseMs, deliveryTimeoutMs: config.deliveryTimeoutMs },
          'leaseMs should exceed deliveryTimeoutMs by a margin, or a slow attempt may be sent twice');
      }
      if (outboxBackend(db).singleWorker) {
        lock = await holdWorkerLock({
          db, logger, owner, staleMs: opts.sqliteLock?.staleMs ?? 30_000, heartbeatMs: opts.sqliteLock?.heartbeatMs ?? 5_000,
          onLost: () => {
            if (!running) return;
            logger.error('the SQLite worker lock was taken over by another process; this worker stops claiming');
            running = false;
            signal.poke();
          },
        });
      }
      const hk = setInterval(() => {
        housekeeping().catch((err) => logger.warn({ err }, 'outbox housekeeping failed'));
      }, opts.housekeepingIntervalMs ?? 60_000);
      hk.unref();
      timers.push(hk);
      const listenConnection = opts.listen === false ? null : listenConnectionOf(db);
      if (listenConnection) {
        const tuning = typeof opts.listen === 'object' ? opts.listen : {};
        listener = listenForOutbox({
          connection: listenConnection, logger, ...tuning,
          onNotify: (webhookIds) => {
            stats.notifications++;
            // Named webhooks that each have a delivery in flight here: no claim could take anything (see wake()).
            wakeFor(webhookIds);
          },
          onListening: signal.poke,
        });
        // Listening before the first claim: nothing committed after that claim can be missed.
        await listener.ready;
      }
      running = true;
      stopping = false;
      signal.poke(); // claim at once: work may have been waiting while no worker ran
      loopDone = claims.loop();
      logger.info({ concurrency: config.workerConcurrency, dialect: db.dialect }, 'delivery worker started');
    },

    async stop(o = {}) {
      const wasRunning = running;
      running = false;
      stopping = true;
      signal.poke();
      const closing = listener?.close();
      listener = null;
      await loopDone;
      await closing;
      const graceMs = o.graceMs ?? config.shutdownGraceMs;
      if (runs.count() > 0) {
        const pending = runs.tasks().map((t) => t.done);
        let graceTimer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(pending), new Promise<void>((r) => { graceTimer = setTimeout(r, graceMs); })]);
        clearTimeout(graceTimer);
      }
      const cut = runs.tasks();
      for (const t of cut) t.controller.abort();
      await Promise.all(cut.map((t) => t.done));
      for (const t of timers.splice(0)) clearInterval(t);
      sender.close();
      mailer?.close();
      const held = lock;
      lock = null;
      await held?.release();
      if (wasRunning) logger.info({ released: cut.length }, 'delivery worker stopped');
    },

    wake: wakeFor,
    runOnce,
    async drain() {
      let total = 0;
      for (;;) {
        const n = await runOnce();
        if (n === 0) return total;
        total += n;
      }
    },
    housekeeping,
    stats: () => ({ ...stats, circuitsOpen: admission.openCircuits() }),
  };
}
